//! The whole configuration file under hostile edits: `ringdesk.toml` lives in the binary
//! crate, which no cargo-fuzz target can link (fuzz/README.md), so this test mutates the
//! shipped example, as shipped and with every setting uncommented (bytes flipped, lines
//! dropped, duplicated and cut, values swapped for hostile ones), a few thousand times
//! with a fixed seed, and checks that `Config::parse` never panics and that every refusal
//! names the file.

use super::Config;

/// A fixed-seed xorshift: the same mutations on every run (a failure is reproducible).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that stress a TOML parser and the checks behind it.
const VALUES: [&str; 14] = [
    "\"\"",
    "0",
    "-1",
    "18446744073709551616",
    "1e309",
    "\"0.0.0.0:0\"",
    "\"[::]:99999\"",
    "[]",
    "{}",
    "\"\\u0000\"",
    "\"300000000000000s\"",
    "true",
    "\"../../../../etc/passwd\"",
    "[[1]]",
];

fn mutate(base: &[&str], rng: &mut Rng) -> String {
    let mut lines: Vec<String> = base.iter().map(|l| (*l).to_owned()).collect();
    for _ in 0..1 + rng.below(4) {
        let i = rng.below(lines.len());
        match rng.below(6) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let copy = lines[i].clone();
                lines.insert(rng.below(lines.len()), copy);
            }
            2 => {
                if let Some((key, _)) = lines[i].split_once(" = ") {
                    lines[i] = format!("{key} = {}", VALUES[rng.below(VALUES.len())]);
                }
            }
            3 => {
                let mut bytes = lines[i].clone().into_bytes();
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len());
                    bytes[at] = (rng.next() & 0x7f) as u8;
                }
                lines[i] = String::from_utf8_lossy(&bytes).into_owned();
            }
            4 => {
                let cut = rng.below(lines[i].len() + 1);
                lines[i] = lines[i].chars().take(cut).collect();
            }
            _ => lines.insert(i, "[".repeat(1 + rng.below(3))),
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_configurations_are_refused_with_the_file_named_never_a_panic() {
    let example: String = super::EXAMPLE
        .lines()
        .map(|l| {
            let setting = l.strip_prefix("# ").filter(|l| {
                l.starts_with('[')
                    || l.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
            });
            setting.unwrap_or(l).to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Every setting (the deserializers of every section), and the example as shipped
    // (valid: some mutations stay valid and reach the checks behind the parser).
    let every: Vec<&str> = example.lines().collect();
    let shipped: Vec<&str> = super::EXAMPLE.lines().collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..3000 {
        let base = if round % 2 == 0 { &every } else { &shipped };
        let text = mutate(base, &mut rng);
        let outcome = std::panic::catch_unwind(|| Config::parse(&text, "m.toml"));
        match outcome {
            Err(_) => panic!("Config::parse panicked on mutation {round}:\n{text}"),
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) => {
                let e = format!("{e:#}");
                assert!(e.starts_with("m.toml"), "mutation {round}: {e}");
                refused += 1;
            }
        }
    }
    // Both sides are exercised: some edits keep the file valid, most do not.
    assert!(
        accepted > 0 && refused > 1000,
        "{accepted} accepted, {refused} refused"
    );
}
