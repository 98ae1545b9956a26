//! A search API stand-in: prints its health and exits.

fn health() -> &'static str {
    "ok"
}

fn main() {
    println!("{}", health());
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_healthy() {
        assert_eq!(super::health(), "ok");
    }
}
