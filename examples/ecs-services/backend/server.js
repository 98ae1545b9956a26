// The backend: answers every request with its name (no dependencies).
export function handle(path) {
  return { service: "backend", path };
}
