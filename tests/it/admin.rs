//! Admins: live FAQ reloads (good edits served without a restart, broken
//! edits refused with file:line:column), suggestions from what the bot
//! missed, the numbers (`/stats`, Prometheus `/metrics`, `/healthz`), the
//! FAQ's JSON Schema and the eval report. Real files, a real SQLite
//! database in a temp dir, a real HTTP server on 127.0.0.1:0.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bot::admin::reload::{ReloadOutcome, Trigger};
use bot::admin::{Admin, AdminCommand, AdminReply};
use bot::desk::{AgentCommand, AgentProfile, Desk};
use bot::engine::{Reply, UserInput, UserMessage};
use bot::settings::Settings;
use clap::Parser;
use handoff::{QueryOutcome, QueryRecord, UserInfo};
use tempfile::TempDir;

const MAIN: &str = r#"version: 1
default_language: zh
categories:
  - id: deposit
    title: { zh: 充值, en: Deposits }
  - id: security
    title: { zh: 账户安全, en: Security }
entries:
  - id: deposit-not-credited
    category: deposit
    questions:
      zh: [充币没有到账怎么办, 充值一直不到账, 充币很久了还没到]
      en: [My deposit has not arrived, Deposit not credited]
    answer:
      zh: 请先确认区块确认数已足够。
      en: First check that the transaction has enough confirmations.
  - id: deposit-address
    category: deposit
    questions:
      zh: [充币地址在哪里, 怎么获取充值地址]
      en: [Where is my deposit address, How do I get a deposit address]
    answer:
      zh: 在资产页面点击充币即可看到地址。
      en: Open Assets and tap Deposit to see your address.
"#;

const SECURITY: &str = r#"version: 1
entries:
  - id: reset-2fa
    category: security
    questions:
      zh: [谷歌验证器丢了怎么办, 怎么重置谷歌验证, 手机丢了无法二次验证]
      en: [I lost my authenticator, How do I reset 2FA]
    answer:
      zh: 请在登录页点击“无法验证”，按提示重置。
      en: Tap "Can't verify" on the login page and follow the steps.
"#;

/// SECURITY plus an entry about staking.
const SECURITY_WITH_STAKING: &str = r#"version: 1
entries:
  - id: reset-2fa
    category: security
    questions:
      zh: [谷歌验证器丢了怎么办, 怎么重置谷歌验证, 手机丢了无法二次验证]
      en: [I lost my authenticator, How do I reset 2FA]
    answer:
      zh: 请在登录页点击“无法验证”，按提示重置。
      en: Tap "Can't verify" on the login page and follow the steps.
  - id: staking-eth
    questions:
      zh: [怎么质押以太坊, 以太坊质押收益是多少, 质押的以太坊什么时候能取回]
      en: [How do I stake Ethereum, What is the Ethereum staking reward]
    answer:
      zh: 在理财页面选择以太坊质押。
      en: Open Earn and choose Ethereum staking.
"#;

/// A typo on line 8, column 5 (`anwser`).
const SECURITY_BROKEN: &str = r#"version: 1
entries:
  - id: reset-2fa
    category: security
    questions:
      zh: [谷歌验证器丢了怎么办]
      en: [I lost my authenticator]
    anwser:
      zh: 请在登录页点击“无法验证”。
"#;

const ADMIN: i64 = 1;
const AGENT: i64 = 7;
const STRANGER: i64 = 666;

struct Desk_ {
    dir: TempDir,
    settings: Settings,
    desk: Arc<Desk>,
    admin: Admin,
}

/// A FAQ folder of two files, a SQLite database, one admin and one agent.
async fn desk() -> Desk_ {
    let dir = TempDir::new().unwrap();
    let faq = dir.path().join("faq");
    std::fs::create_dir(&faq).unwrap();
    std::fs::write(faq.join("00-main.yaml"), MAIN).unwrap();
    std::fs::write(faq.join("security.yaml"), SECURITY).unwrap();
    let mut settings = Settings {
        faq_path: faq,
        database_url: format!("sqlite:{}", dir.path().join("helpdesk.db").display()),
        ..Settings::default()
    };
    settings.staff.agents = vec![AgentProfile {
        id: AGENT,
        alias: "Alice".into(),
    }];
    settings.staff.admins = vec![ADMIN];
    settings.admin.debounce_ms = 200;
    let desk = Arc::new(bot::startup::build_desk(&settings, &[]).await.unwrap());
    let admin = Admin::new(desk.clone(), &settings);
    Desk_ {
        dir,
        settings,
        desk,
        admin,
    }
}

impl Desk_ {
    fn faq_file(&self, name: &str) -> std::path::PathBuf {
        self.settings.faq_path.join(name)
    }

    /// What the bot does with a question from a fresh user.
    async fn answer(&self, user: i64, text: &str) -> Vec<Reply> {
        let user = UserInfo {
            id: user,
            username: None,
            display_name: None,
            language: String::new(),
        };
        let out = self
            .desk
            .user(UserMessage {
                user,
                input: UserInput::Text(text.into()),
                key: None,
            })
            .await
            .unwrap();
        out.into_iter().map(|o| o.reply).collect()
    }

    fn entries(&self) -> Vec<String> {
        self.desk
            .knowledge()
            .faq
            .entries
            .iter()
            .map(|e| e.id.clone())
            .collect()
    }
}

/// The next reload outcome, waiting at most 20 s.
async fn next_outcome(
    outcomes: &mut tokio::sync::broadcast::Receiver<ReloadOutcome>,
) -> ReloadOutcome {
    tokio::time::timeout(Duration::from_secs(20), outcomes.recv())
        .await
        .expect("a reload within 20 s of the file change")
        .expect("the reloader is alive")
}

fn answered(replies: &[Reply], entry: &str) -> bool {
    replies
        .iter()
        .any(|r| matches!(r, Reply::Answer { entry_id } if entry_id == entry))
}

#[tokio::test]
async fn a_good_edit_is_served_without_a_restart() {
    let scene = desk().await;
    let _running = scene.admin.start(&scene.settings).await.unwrap();
    let mut outcomes = scene.admin.reloader().subscribe();
    assert!(!answered(
        &scene.answer(100, "怎么质押以太坊").await,
        "staking-eth"
    ));

    std::fs::write(scene.faq_file("security.yaml"), SECURITY_WITH_STAKING).unwrap();
    let outcome = next_outcome(&mut outcomes).await;

    assert_eq!(outcome.trigger, Trigger::FileChange);
    let reloaded = outcome.result.as_ref().expect("the edit is valid");
    assert_eq!(reloaded.entries, 4);
    assert!(answered(
        &scene.answer(101, "怎么质押以太坊").await,
        "staking-eth"
    ));
    // The entries that were there before still answer.
    assert!(answered(
        &scene.answer(102, "充币没有到账怎么办").await,
        "deposit-not-credited"
    ));
}

#[tokio::test]
async fn a_new_file_in_the_folder_is_picked_up() {
    let scene = desk().await;
    let _running = scene.admin.start(&scene.settings).await.unwrap();
    let mut outcomes = scene.admin.reloader().subscribe();
    let staking = "version: 1\nentries:\n  - id: staking-eth\n    questions:\n      zh: [怎么质押以太坊]\n    answer:\n      zh: 在理财页面选择以太坊质押。\n";
    std::fs::write(scene.faq_file("staking.yml"), staking).unwrap();
    let outcome = next_outcome(&mut outcomes).await;
    assert!(outcome.is_ok(), "{:?}", outcome.result);
    assert!(
        scene.entries().contains(&"staking-eth".to_owned()),
        "{:?}",
        scene.entries()
    );
}

#[tokio::test]
async fn a_broken_edit_keeps_the_old_faq_and_reports_the_error_with_file_line_column() {
    let scene = desk().await;
    let _running = scene.admin.start(&scene.settings).await.unwrap();
    let mut outcomes = scene.admin.reloader().subscribe();
    let before = scene.entries();

    std::fs::write(scene.faq_file("security.yaml"), SECURITY_BROKEN).unwrap();
    let outcome = next_outcome(&mut outcomes).await;

    let failed = outcome.result.as_ref().expect_err("the edit is refused");
    let place = format!("{}:8:5", scene.faq_file("security.yaml").display());
    assert!(failed.error.contains(&place), "{}", failed.error);
    assert!(
        failed.error.contains("did you mean `answer`"),
        "{}",
        failed.error
    );
    assert_eq!(failed.serving_entries, before.len());
    assert_eq!(scene.entries(), before);
    assert!(answered(
        &scene.answer(100, "谷歌验证器丢了怎么办").await,
        "reset-2fa"
    ));

    // What admins read (in Telegram and the console) has the place too.
    let text = bot::admin::render_reload(&outcome, "en");
    assert!(text.starts_with("FAQ not reloaded"), "{text}");
    assert!(text.contains(&place), "{text}");
    let status = scene.admin.reloader().status();
    assert_eq!((status.succeeded, status.failed), (0, 1));

    // Fixing the file brings the change in.
    std::fs::write(scene.faq_file("security.yaml"), SECURITY_WITH_STAKING).unwrap();
    let outcome = next_outcome(&mut outcomes).await;
    assert!(outcome.is_ok(), "{:?}", outcome.result);
    assert!(scene.entries().contains(&"staking-eth".to_owned()));
}

#[tokio::test]
async fn a_removed_file_takes_its_entries_away_and_removing_every_file_is_refused() {
    let scene = desk().await;
    let _running = scene.admin.start(&scene.settings).await.unwrap();
    let mut outcomes = scene.admin.reloader().subscribe();

    std::fs::remove_file(scene.faq_file("security.yaml")).unwrap();
    let outcome = next_outcome(&mut outcomes).await;
    assert_eq!(outcome.result.as_ref().map(|r| r.entries), Ok(2));
    assert!(!scene.entries().contains(&"reset-2fa".to_owned()));

    std::fs::remove_file(scene.faq_file("00-main.yaml")).unwrap();
    let outcome = next_outcome(&mut outcomes).await;
    let failed = outcome
        .result
        .as_ref()
        .expect_err("an empty folder is not a FAQ");
    assert!(failed.error.contains("no FAQ files"), "{}", failed.error);
    assert_eq!(scene.entries().len(), 2, "the last good FAQ keeps serving");
}

#[tokio::test]
async fn reload_on_command_is_for_admins_and_reports_what_it_loaded() {
    let scene = desk().await;
    std::fs::write(scene.faq_file("security.yaml"), SECURITY_WITH_STAKING).unwrap();

    for who in [AGENT, STRANGER] {
        let reply = scene.admin.handle(who, AdminCommand::Reload).await.unwrap();
        assert_eq!(reply, AdminReply::Refused, "{who} must not reload");
        assert_eq!(reply.render("en"), "Only admins may use this command.");
    }
    assert_eq!(
        scene.entries().len(),
        3,
        "a refused command changes nothing"
    );

    let reply = scene
        .admin
        .handle(ADMIN, AdminCommand::Reload)
        .await
        .unwrap();
    let AdminReply::Reload(outcome) = &reply else {
        panic!("{reply:?}")
    };
    assert_eq!(outcome.trigger, Trigger::Command);
    assert!(
        reply
            .render("en")
            .starts_with("FAQ reloaded: 4 entries, 2 categories"),
        "{}",
        reply.render("en")
    );
    assert_eq!(scene.entries().len(), 4);
}

#[tokio::test]
async fn stats_suggest_and_unlearn_are_refused_to_agents_and_strangers() {
    let scene = desk().await;
    let unlearn = AdminCommand::Unlearn {
        entry_id: "deposit-not-credited".into(),
        text: "充币没到".into(),
    };
    for command in [AdminCommand::Stats, AdminCommand::Suggest, unlearn] {
        for who in [AGENT, STRANGER] {
            assert_eq!(
                scene.admin.handle(who, command.clone()).await.unwrap(),
                AdminReply::Refused
            );
        }
        let reply = scene.admin.handle(ADMIN, command).await.unwrap();
        assert_ne!(reply, AdminReply::Refused);
    }
}

async fn record(desk: &Desk, user: i64, text: &str, times: usize) {
    for _ in 0..times {
        desk.store()
            .record_query(QueryRecord {
                user,
                language: "zh".into(),
                text: text.into(),
                outcome: QueryOutcome::NoMatch,
                entry_id: None,
                confidence: Some(0.05),
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn suggest_on_recorded_unanswered_questions_finds_the_clusters() {
    let scene = desk().await;
    let unanswered: &[(&str, usize)] = &[
        ("怎么质押ETH", 4),
        ("ETH质押怎么操作", 2),
        ("质押ETH收益多少", 1),
        ("你们有没有NFT市场", 2),
        ("NFT市场什么时候上线", 1),
        ("How do I stake ETH", 2),
        ("staking ETH rewards", 1),
        ("你们老板是谁", 1),
        // A secret pasted by mistake: masked in the log and in suggestions.
        ("我的密码是 Hunter2Secret! 为什么登录不了", 1),
    ];
    for (text, times) in unanswered {
        record(&scene.desk, 42, text, *times).await;
    }

    let reply = scene
        .admin
        .handle(ADMIN, AdminCommand::Suggest)
        .await
        .unwrap();
    let AdminReply::Suggestions(suggestions) = &reply else {
        panic!("{reply:?}")
    };
    let clusters: Vec<(u64, Vec<&str>)> = suggestions
        .clusters
        .iter()
        .map(|c| {
            let mut texts: Vec<&str> = c.questions.iter().map(|(t, _)| t.as_str()).collect();
            texts.sort();
            (c.asked, texts)
        })
        .collect();
    // The store compares questions ignoring ASCII case: "eth" is "ETH".
    assert_eq!(
        clusters[0],
        (7, vec!["eth质押怎么操作", "怎么质押eth", "质押eth收益多少"]),
        "{clusters:?}"
    );
    assert!(
        clusters.contains(&(3, vec!["how do i stake eth", "staking eth rewards"])),
        "{clusters:?}"
    );
    assert!(
        clusters.contains(&(3, vec!["nft市场什么时候上线", "你们有没有nft市场"])),
        "{clusters:?}"
    );
    assert!(
        clusters.contains(&(1, vec!["你们老板是谁"])),
        "{clusters:?}"
    );
    // Examples are the most asked wordings first.
    assert_eq!(
        suggestions.clusters[0].questions[0],
        ("怎么质押eth".to_owned(), 4)
    );

    let text = reply.render("en");
    assert!(text.contains("Similar questions no entry covers"), "{text}");
    assert!(text.contains("asked 7× in 3 wording(s)"), "{text}");
    assert!(
        !text.to_lowercase().contains("hunter2secret"),
        "a secret leaked: {text}"
    );

    // Once the FAQ answers them, they are no longer suggested.
    std::fs::write(scene.faq_file("security.yaml"), SECURITY_WITH_STAKING).unwrap();
    scene
        .admin
        .handle(ADMIN, AdminCommand::Reload)
        .await
        .unwrap();
    let reply = scene
        .admin
        .handle(ADMIN, AdminCommand::Suggest)
        .await
        .unwrap();
    let AdminReply::Suggestions(after) = &reply else {
        panic!("{reply:?}")
    };
    assert!(after.clusters.len() <= suggestions.clusters.len());
    assert!(
        after.clusters.iter().map(|c| c.asked).sum::<u64>()
            < suggestions.clusters.iter().map(|c| c.asked).sum::<u64>()
    );
}

#[tokio::test]
async fn an_agents_link_becomes_a_new_question_for_that_entry_as_yaml_to_paste() {
    let scene = desk().await;
    // The bot answers one question, then misses the one the ticket is about.
    scene.answer(42, "充币没有到账怎么办").await;
    scene
        .answer(42, "我转的USDT在链上确认了但账户里看不到")
        .await;
    scene.answer(42, "转人工").await;
    scene.desk.agent(AGENT, AgentCommand::Next).await.unwrap();
    scene
        .desk
        .agent(
            AGENT,
            crate::support::agent_command("/link deposit-not-credited").unwrap(),
        )
        .await
        .unwrap();

    let reply = scene
        .admin
        .handle(ADMIN, AdminCommand::Suggest)
        .await
        .unwrap();
    let AdminReply::Suggestions(suggestions) = &reply else {
        panic!("{reply:?}")
    };
    assert_eq!(
        suggestions.new_questions.len(),
        1,
        "{:?}",
        suggestions.new_questions
    );
    let entry = &suggestions.new_questions[0];
    assert_eq!(entry.entry_id, "deposit-not-credited");
    let texts: Vec<&str> = entry.questions.iter().map(|q| q.text.as_str()).collect();
    // Not the question the bot answered, not "转人工".
    assert_eq!(texts, vec!["我转的USDT在链上确认了但账户里看不到"]);
    assert_eq!(entry.questions[0].language, "zh");

    let yaml = bot::admin::suggest::yaml_snippet(&suggestions.new_questions);
    let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).expect("the snippet is YAML");
    assert_eq!(parsed[0]["id"], "deposit-not-credited");
    assert_eq!(
        parsed[0]["questions"]["zh"][0],
        "我转的USDT在链上确认了但账户里看不到"
    );
}

#[tokio::test]
async fn stats_show_today_and_seven_days() {
    let scene = desk().await;
    scene.answer(42, "充币没有到账怎么办").await;
    record(&scene.desk, 43, "你们老板是谁", 3).await;
    scene.answer(44, "转人工").await;
    let reply = scene
        .admin
        .handle(ADMIN, AdminCommand::Stats)
        .await
        .unwrap();
    let AdminReply::Stats(report) = &reply else {
        panic!("{reply:?}")
    };
    assert_eq!(report.today.questions.total(), 5);
    assert_eq!(report.week.questions.answered, 1);
    assert_eq!(report.week.escalated, 1);
    let text = reply.render("en");
    assert!(text.contains("questions: 5 | 5"), "{text}");
    assert!(text.contains("auto-answered: 20% | 20%"), "{text}");
    assert!(text.contains("escalations: 1 | 1"), "{text}");
    assert!(text.contains("3× 你们老板是谁"), "{text}");
    assert!(
        reply.render("zh").contains("提问数：") || reply.render("zh").contains("提问数: "),
        "{}",
        reply.render("zh")
    );
}

/// GETs `path` from `addr`: (status, content type, body).
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// A strict reader of the OpenMetrics / Prometheus text format: every line
/// is `# HELP`, `# TYPE`, `# UNIT`, `# EOF` (last) or a sample
/// `name{label="value",...} number` of a declared family with a suffix its
/// type allows. Returns the samples as `name{labels}` → value.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"# EOF"),
        "the exposition ends with # EOF"
    );
    assert!(text.ends_with("# EOF\n"));
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("EOF"), None, None) => {
                    assert_eq!(i, lines.len() - 1, "# EOF is the last line")
                }
                (Some("HELP"), Some(name), Some(_)) => assert!(name_ok(name), "line {i}: {line}"),
                (Some("UNIT"), Some(name), Some(_)) => assert!(name_ok(name), "line {i}: {line}"),
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(name_ok(name), "line {i}: {line}");
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "summary",
                            "info",
                            "stateset",
                            "unknown",
                            "gaugehistogram"
                        ]
                        .contains(&kind),
                        "line {i}: {line}"
                    );
                    types.insert(name.to_owned(), kind.to_owned());
                }
                _ => panic!("line {i} is not a valid comment: {line}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("line {i}: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("line {i}: not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("line {i}: {line}"));
                for pair in labels.split(',').filter(|p| !p.is_empty()) {
                    let (key, quoted) = pair
                        .split_once('=')
                        .unwrap_or_else(|| panic!("line {i}: {line}"));
                    assert!(name_ok(key), "line {i}: label name {key}");
                    assert!(
                        quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                        "line {i}: {line}"
                    );
                }
                (name, labels)
            }
            None => (series, ""),
        };
        assert!(name_ok(name), "line {i}: {line}");
        let family = types
            .keys()
            .filter(|f| name.starts_with(f.as_str()))
            .max_by_key(|f| f.len())
            .unwrap_or_else(|| panic!("line {i}: {name} has no # TYPE"));
        let suffix = &name[family.len()..];
        let allowed: &[&str] = match types[family].as_str() {
            "counter" => &["_total", "_created"],
            "info" => &["_info"],
            "gauge" | "unknown" => &[""],
            _ => &[
                "", "_bucket", "_count", "_sum", "_created", "_gcount", "_gsum",
            ],
        };
        assert!(
            allowed.contains(&suffix),
            "line {i}: {name} does not fit its type {}",
            types[family]
        );
        samples.insert(format!("{name}{{{labels}}}"), value);
    }
    samples
}

#[tokio::test]
async fn the_metrics_endpoint_parses_as_prometheus_text_and_counts_what_happened() {
    let scene = desk().await;
    scene.answer(42, "充币没有到账怎么办").await;
    record(&scene.desk, 43, "你们老板是谁", 2).await;
    scene.answer(44, "转人工").await;
    let metrics =
        bot::admin::metrics::Metrics::new(scene.desk.clone(), Some(scene.admin.reloader().clone()))
            .with_settle(Duration::ZERO);
    let server = bot::admin::metrics::serve("127.0.0.1:0".parse().unwrap(), Arc::new(metrics))
        .await
        .unwrap();

    let (status, content_type, body) = get(server.addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, bot::admin::metrics::CONTENT_TYPE);
    let samples = parse_exposition(&body);
    let value = |series: &str| {
        *samples
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in\n{body}"))
    };
    assert_eq!(value("helpdesk_questions_total{outcome=\"answered\"}"), 1.0);
    assert_eq!(value("helpdesk_questions_total{outcome=\"no_match\"}"), 2.0);
    assert_eq!(
        value("helpdesk_questions_total{outcome=\"asked_for_human\"}"),
        1.0
    );
    assert_eq!(value("helpdesk_tickets_opened_total{}"), 1.0);
    assert_eq!(value("helpdesk_queue_waiting{}"), 1.0);
    assert_eq!(value("helpdesk_faq_entries{}"), 3.0);
    assert!((value("helpdesk_auto_answer_ratio{}") - 0.25).abs() < 1e-9);

    // A second scrape counts only what happened since the first.
    scene.answer(45, "充币地址在哪里").await;
    scene
        .admin
        .handle(ADMIN, AdminCommand::Reload)
        .await
        .unwrap();
    let (_, _, body) = get(server.addr, "/metrics").await;
    let samples = parse_exposition(&body);
    assert_eq!(
        samples["helpdesk_questions_total{outcome=\"answered\"}"],
        2.0
    );
    assert_eq!(
        samples["helpdesk_questions_total{outcome=\"no_match\"}"],
        2.0
    );
    assert_eq!(samples["helpdesk_faq_reloads_total{result=\"ok\"}"], 1.0);

    let (status, content_type, body) = get(server.addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("application/json"));
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["faq_entries"], 3);
}

#[tokio::test]
async fn the_metrics_server_is_off_unless_an_address_is_configured() {
    let scene = desk().await;
    let mut settings = scene.settings.clone();
    settings.admin.reload = false;
    let running = scene.admin.start(&settings).await.unwrap();
    assert!(running.metrics.is_none() && running.watch.is_none());
    assert_eq!(Settings::default().admin.metrics_listen, None);

    settings.admin.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let running = scene.admin.start(&settings).await.unwrap();
    let addr = running.metrics.as_ref().unwrap().addr;
    assert_eq!(get(addr, "/healthz").await.0, 200);
}

fn bundled_faq() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../faq-data")
}

fn yaml_as_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("YAML")
}

#[test]
fn the_schema_accepts_every_bundled_faq_file() {
    let schema = matcher::faq::json_schema();
    let validator = jsonschema::draft7::new(&schema).expect("the schema is valid draft 7");
    let mut files = 0;
    for item in std::fs::read_dir(bundled_faq()).unwrap() {
        let path = item.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let value = yaml_as_json(&std::fs::read_to_string(&path).unwrap());
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            files += 1;
        }
    }
    assert!(files >= 2);
}

#[test]
fn the_schema_refuses_unknown_fields_missing_answers_and_bad_ids() {
    let schema = matcher::faq::json_schema();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    for (broken, why) in [
        (SECURITY_BROKEN, "a typo in a field name"),
        (
            "version: 1\nentries:\n  - id: x\n    questions: {en: [a]}\n",
            "no answer",
        ),
        (
            "version: 1\nentries:\n  - id: Bad Id\n    questions: {en: [a]}\n    answer: {en: b}\n",
            "an id with spaces",
        ),
        (
            "version: 1\nentries:\n  - id: x\n    questions: {EN: [a]}\n    answer: {en: b}\n",
            "a language code in capitals",
        ),
        ("default_language: zh\n", "no version"),
        ("version: 1\nfaq: []\n", "an unknown top-level field"),
    ] {
        assert!(!validator.is_valid(&yaml_as_json(broken)), "accepted {why}");
    }
    assert!(validator.is_valid(&yaml_as_json(MAIN)));
}

#[tokio::test]
async fn the_eval_report_has_the_metrics_the_threshold_plot_and_escaped_queries() {
    let scene = desk().await;
    let queries = scene.dir.path().join("queries.tsv");
    std::fs::write(
        &queries,
        "query\texpected\n充币没有到账怎么办\tdeposit-not-credited\n充币地址在哪里\tdeposit-address\n\
         <script>alert('x')</script> 充币\tdeposit-not-credited\n你们老板是谁\t-\nI lost my authenticator\treset-2fa\n",
    )
    .unwrap();
    let report = scene.dir.path().join("report.html");
    let cli = bot::cli::Cli::try_parse_from([
        "helpdesk",
        "eval",
        "--faq",
        scene.settings.faq_path.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--json",
    ])
    .unwrap();
    let code = bot::cli::run(cli).await.unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);

    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<svg") && html.contains("<polyline class=\"precision\""),
        "no plot"
    );
    assert!(html.contains("<polyline class=\"coverage\""));
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "the query is not escaped"
    );
    assert!(
        !html.contains("<script"),
        "a query's markup reached the page"
    );
    assert!(html.contains("<th>precision</th>") && html.contains("Misses"));
    assert!(html.contains("<th>one tap</th>") && html.contains("<th>offered unanswerable</th>"));
    // Self-contained: nothing to fetch.
    assert!(!html.contains("src=") && !html.contains("href=") && !html.contains("@import"));
}

#[tokio::test]
async fn the_console_agent_is_an_admin_when_no_staff_is_configured() {
    let scene = desk().await;
    let mut settings = scene.settings.clone();
    settings.staff.agents.clear();
    settings.staff.admins.clear();
    let mut console = bot::console::Console::new(&settings).await.unwrap();
    console.handle_line("/agent").await.unwrap();
    let printed = console.handle_line("/stats").await.unwrap();
    assert!(printed.contains("Help desk numbers"), "{printed}");
    let printed = console.handle_line("/reload").await.unwrap();
    assert!(printed.contains("FAQ reloaded: 3 entries"), "{printed}");

    // With agents configured (and the console playing one who is not an
    // admin), admin commands are refused.
    let mut console = bot::console::Console::new(&scene.settings).await.unwrap();
    console.handle_line("/agent").await.unwrap();
    let printed = console.handle_line("/suggest").await.unwrap();
    assert!(printed.contains("Only admins"), "{printed}");
}

#[tokio::test]
async fn in_telegram_admins_get_stats_and_reload_errors_and_everyone_else_is_refused() {
    use crate::fake_bot_api::{FakeBotApi, Person};
    const TOKEN: &str = "123456789:AAFakeTokenForAdminTests_abcdefghij";
    let (admin, agent, stranger) = (
        Person::new(9100, "Ada", "en"),
        Person::new(9101, "Alice", "en"),
        Person::new(9102, "Eve", "en"),
    );
    let scene = desk().await;
    let mut settings = scene.settings.clone();
    settings.staff.admins = vec![admin.id];
    settings.staff.agents = vec![AgentProfile {
        id: agent.id,
        alias: "Alice".into(),
    }];
    settings.telegram.throttle = false;
    let desk = Arc::new(bot::startup::build_desk(&settings, &[]).await.unwrap());
    let fake = FakeBotApi::start(TOKEN).await;
    let launch = bot::telegram::Launch::new(TOKEN)
        .with_api_url(&fake.url)
        .unwrap();
    let running = bot::telegram::start_with_desk(&settings, desk, launch)
        .await
        .unwrap();

    fake.user_says(&admin, "/stats");
    fake.wait_for_text(admin.id, "Help desk numbers").await;
    fake.user_says(&agent, "/suggest");
    fake.wait_for_text(agent.id, "Only admins may use this command.")
        .await;
    fake.user_says(&stranger, "/reload");

    // A broken edit: the admin is told, with the place of the error.
    std::fs::write(scene.faq_file("security.yaml"), SECURITY_BROKEN).unwrap();
    let told = fake.wait_for_text(admin.id, "FAQ not reloaded").await;
    assert!(told.text().contains("security.yaml:8:5"), "{}", told.text());

    fake.settle(Duration::from_millis(300)).await;
    for text in fake
        .texts_to(stranger.id)
        .iter()
        .chain(&fake.texts_to(agent.id))
    {
        assert!(
            !text.contains("FAQ") && !text.contains("Help desk numbers"),
            "{text}"
        );
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn suggest_lists_what_users_taught_and_unlearn_drops_a_bad_phrasing() {
    let scene = desk().await;
    let entry = scene.desk.knowledge().faq.entries[0].id.clone();
    scene
        .desk
        .store()
        .record_learned(&entry, "钱怎么还没进来", handoff::LearnedFrom::Picked)
        .await
        .unwrap();
    let AdminReply::Suggestions(suggestions) = scene
        .admin
        .handle(ADMIN, AdminCommand::Suggest)
        .await
        .unwrap()
    else {
        panic!("suggestions expected");
    };
    assert_eq!(suggestions.learned.len(), 1);
    assert_eq!(suggestions.learned[0].entry_id, entry);
    let text = AdminReply::Suggestions(suggestions).render("en");
    assert!(
        text.contains(&format!("{entry} 钱怎么还没进来 (picked)")),
        "{text}"
    );

    // A reload indexes it; /unlearn forgets it and reindexes.
    scene
        .admin
        .handle(ADMIN, AdminCommand::Reload)
        .await
        .unwrap();
    assert_eq!(scene.desk.knowledge().learned.len(), 1);
    let unlearn = |text: &str| AdminCommand::Unlearn {
        entry_id: entry.clone(),
        text: text.into(),
    };
    assert_eq!(
        scene
            .admin
            .handle(ADMIN, unlearn("钱怎么还没进来"))
            .await
            .unwrap(),
        AdminReply::Unlearned(Some(true))
    );
    assert!(scene.desk.store().learned().await.unwrap().is_empty());
    assert!(scene.desk.knowledge().learned.is_empty());
    assert_eq!(
        scene
            .admin
            .handle(ADMIN, unlearn("钱怎么还没进来"))
            .await
            .unwrap(),
        AdminReply::Unlearned(Some(false))
    );
    assert_eq!(
        crate::support::admin_command("/unlearn"),
        Some(AdminCommand::Unlearn {
            entry_id: String::new(),
            text: String::new()
        })
    );
    assert_eq!(
        scene
            .admin
            .handle(ADMIN, crate::support::admin_command("/unlearn").unwrap())
            .await
            .unwrap(),
        AdminReply::Unlearned(None)
    );
    assert_eq!(
        crate::support::admin_command("/unlearn deposit-x 充币 没到"),
        Some(AdminCommand::Unlearn {
            entry_id: "deposit-x".into(),
            text: "充币 没到".into()
        })
    );
}

/// Issue #22, item 20: the `eval --report` page as a browser lays it out,
/// at a desktop and a phone width, with headless Chromium. A script added
/// to a copy of the page measures it: no candidate or id breaks over two
/// lines, no row grows tall, the configured threshold's label is inside
/// the plot. Screenshots go to `target/screenshots` (not committed) to be
/// looked at. Skipped, saying so, where Chromium is not installed.
#[test]
fn the_eval_report_lays_out_in_chromium_at_desktop_and_phone_widths() {
    use matcher::eval::{Judged, LabeledQuery, Verdict};
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("SKIPPED: no chromium on PATH (apt-get install chromium fonts-wqy-microhei)");
        return;
    };
    let candidate = |id: &str, confidence: f32| matcher::Candidate {
        entry_id: id.into(),
        confidence,
    };
    let miss = |line: usize, query: &str, expected: &str| Judged {
        query: LabeledQuery {
            query: query.into(),
            expected: Some(expected.into()),
            line,
        },
        verdict: Verdict {
            answered: None,
            offered: Vec::new(),
            candidates: vec![
                candidate(expected, 0.9496),
                candidate("withdrawal-pending-too-long", 0.41),
                candidate("deposit-address-wrong-network", 0.12),
            ],
        },
        micros: 120.0,
    };
    let judged = vec![
        miss(
            2,
            "充币好久没到账，交易哈希已经确认了",
            "deposit-not-credited",
        ),
        miss(
            3,
            "my withdrawal has been pending for two days, what now?",
            "withdrawal-pending-too-long",
        ),
        miss(
            4,
            "where do I find my deposit address for USDT on TRC20",
            "deposit-address",
        ),
    ];
    let config = matcher::MatcherConfig::default();
    let html = bot::admin::report::html(&bot::admin::report::ReportInput {
        faq: "faq-data",
        queries: "tests/data/queries.tsv",
        config: &config,
        metrics: &matcher::eval::metrics(&judged),
        judged: &judged,
    });
    let measure = "<script>\
        const rowsOf = [...document.querySelectorAll('tr')].filter(r => r.querySelectorAll('td').length === 5 && r.querySelector('span'));\
        const cells = rowsOf.flatMap(r => [...r.querySelectorAll('td:nth-child(3), td:nth-child(4), td:nth-child(5) span')]);\
        const lines = c => { const r = document.createRange(); r.selectNodeContents(c); return r.getClientRects().length; };\
        const wrapped = cells.filter(c => lines(c) > 1)\
          .map(c => c.textContent);\
        const rows = rowsOf.map(r => r.getBoundingClientRect().height);\
        const label = [...document.querySelectorAll('svg text')].find(t => t.textContent.startsWith('configured'));\
        const b = label.getBBox();\
        document.body.setAttribute('data-layout', JSON.stringify({wrapped, rows, left: b.x, right: b.x + b.width}));\
        </script></body>";
    let dir = TempDir::new().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let measured = dir.path().join("measured.html");
    std::fs::write(&measured, html.replace("</body>", measure)).unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, width, height) in [("desktop", 1280, 2200), ("phone", 390, 3200)] {
        let window = format!("--window-size={width},{height}");
        let base = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            window.as_str(),
        ];
        let shot = shots.join(format!("eval-report-{name}.png"));
        let out = std::process::Command::new(chromium)
            .args(base)
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = std::fs::read(&shot).unwrap();
        // The PNG's header says the page was drawn at the window's size.
        assert_eq!(&png[1..4], b"PNG");
        let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!((dimension(16), dimension(20)), (width, height), "{name}");

        let out = std::process::Command::new(chromium)
            .args(base)
            .arg("--dump-dom")
            .arg(format!("file://{}", measured.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        let start = dom.find("data-layout=\"").expect("the script ran") + "data-layout=\"".len();
        let end = start + dom[start..].find('"').unwrap();
        let layout: serde_json::Value =
            serde_json::from_str(&dom[start..end].replace("&quot;", "\"")).unwrap();
        assert_eq!(layout["wrapped"], serde_json::json!([]), "{name}: {layout}");
        let rows = layout["rows"].as_array().unwrap();
        assert_eq!(rows.len(), judged.len(), "{name}: {layout}");
        for row in rows {
            // Three candidates, one line each (about 20 px a line).
            assert!(row.as_f64().unwrap() <= 90.0, "{name}: {layout}");
        }
        let (left, right) = (
            layout["left"].as_f64().unwrap(),
            layout["right"].as_f64().unwrap(),
        );
        assert!(
            left >= 0.0 && right <= 640.0,
            "{name}: the label spans {left}..{right}"
        );
    }
    eprintln!("screenshots: {}", shots.display());
}
