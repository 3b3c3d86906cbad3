//! A synthetic FAQ of any size for the benchmark and the timing example:
//! questions drawn from a fixed pseudo-random vocabulary of Chinese
//! two-character words and English words, with a Zipf-like skew so that
//! some terms are common, as in a real FAQ.

use std::collections::BTreeMap;
use std::path::PathBuf;

use matcher::faq::{Entry, Faq, SourceLocation};

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Skewed towards small values: index `i` about ∝ 1/(i+1).
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) - 1.0) as usize % n
    }
}

struct Vocabulary {
    chinese: Vec<String>,
    english: Vec<String>,
}

impl Vocabulary {
    fn new(rng: &mut Rng) -> Self {
        let han = |rng: &mut Rng| char::from_u32(0x4E00 + (rng.next() % 3000) as u32).unwrap();
        let chinese = (0..20_000)
            .map(|_| [han(rng), han(rng)].iter().collect())
            .collect();
        let english = (0..20_000)
            .map(|_| {
                let len = 3 + rng.next() % 7;
                (0..len)
                    .map(|_| (b'a' + (rng.next() % 26) as u8) as char)
                    .collect()
            })
            .collect();
        Vocabulary { chinese, english }
    }

    fn question(&self, rng: &mut Rng, chinese: bool) -> String {
        let words = 4 + rng.next() % 6;
        let pick = |rng: &mut Rng, list: &Vec<String>| list[rng.zipf(list.len())].clone();
        if chinese {
            (0..words).map(|_| pick(rng, &self.chinese)).collect()
        } else {
            (0..words)
                .map(|_| pick(rng, &self.english))
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

pub fn synthetic_faq(entries: usize) -> (Faq, Vec<String>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let vocabulary = Vocabulary::new(&mut rng);
    let mut queries = Vec::new();
    let entries = (0..entries)
        .map(|i| {
            let zh: Vec<String> = (0..2)
                .map(|_| vocabulary.question(&mut rng, true))
                .collect();
            let en: Vec<String> = (0..1)
                .map(|_| vocabulary.question(&mut rng, false))
                .collect();
            if i % (entries / 200).max(1) == 0 {
                // A paraphrase-ish query: half of a question plus a new word.
                let half: String = zh[0].chars().take(zh[0].chars().count() / 2).collect();
                queries.push(format!("{half}{}", vocabulary.question(&mut rng, true)));
                queries.push(format!("{} {}", en[0], vocabulary.english[i % 1000]));
            }
            Entry {
                id: format!("entry-{i}"),
                category: None,
                questions: BTreeMap::from([("zh".into(), zh), ("en".into(), en)]),
                keywords: Vec::new(),
                answer: BTreeMap::from([("zh".into(), "……".into())]),
                escalate: false,
                source: SourceLocation {
                    file: PathBuf::from("synthetic.yaml"),
                    line: 1,
                    column: 1,
                },
            }
        })
        .collect();
    let faq = Faq {
        default_language: "zh".into(),
        categories: Vec::new(),
        synonyms: Vec::new(),
        entries,
    };
    (faq, queries)
}
