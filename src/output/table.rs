//! Plain-text tables whose columns line up, for the results people read.

/// Renders `header` and `rows` with every column padded to its widest
/// cell, two spaces apart; trailing spaces are trimmed.
pub fn aligned<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header)];
    out.extend(rows.iter().map(|r| line(r.each_ref().map(String::as_str))));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = [
            ["api".to_string(), "built".to_string(), "a, b".to_string()],
            [
                "worker-long".to_string(),
                "failed".to_string(),
                String::new(),
            ],
        ];
        insta::assert_snapshot!(aligned(["image", "result", "tags"], &rows), @r"
        image        result  tags
        api          built   a, b
        worker-long  failed
        ");
    }
}
