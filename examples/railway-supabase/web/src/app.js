export const title = "notes";
