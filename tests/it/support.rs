//! What several test modules share: the small FAQ their stories run on.

/// A bilingual FAQ of four entries in two categories, one of which
/// escalates (answers and opens an urgent ticket).
pub const FAQ: &str = r#"
version: 1
default_language: zh
categories:
  - id: deposit
    title: { zh: 充值, en: Deposits }
  - id: security
    title: { zh: 账户安全, en: Security }
synonyms:
  - [充币, 充值, deposit]
entries:
  - id: deposit-not-credited
    category: deposit
    questions:
      zh: [充币没有到账怎么办, 充值一直不到账, 充币很久了还没到]
      en: [My deposit has not arrived, Deposit not credited, Where is my deposit]
    answer:
      zh: 请先确认区块确认数已足够。
      en: First check that the transaction has enough confirmations.
  - id: deposit-address
    category: deposit
    questions:
      zh: [充币地址在哪里, 怎么获取充值地址, 我的充币地址是什么]
      en: [Where is my deposit address, How do I get a deposit address]
    answer:
      zh: 在资产页面点击充币即可看到地址。
      en: Open Assets and tap Deposit to see your address.
  - id: account-stolen
    category: security
    escalate: true
    questions:
      zh: [账户被盗了怎么办, 我的账号被黑了, 有人盗了我的账户]
      en: [My account was hacked, Someone stole my account]
    answer:
      zh: 请立即冻结账户，我们的安全团队会联系您。
      en: Freeze your account now; our security team will contact you.
  - id: reset-2fa
    category: security
    questions:
      zh: [谷歌验证器丢了怎么办, 怎么重置谷歌验证, 手机丢了无法二次验证]
      en: [I lost my authenticator, How do I reset 2FA, Lost phone with Google Authenticator]
    answer:
      zh: 请在登录页点击“无法验证”，按提示重置。
      en: Tap "Can't verify" on the login page and follow the steps.
"#;

/// What a user's typed line is, through the one vocabulary: a command, or
/// `None` for text.
pub fn user_command(text: &str) -> Option<bot::engine::UserCommand> {
    use bot::engine::commands::{Command, Side, parse};
    match parse(text, Side::User) {
        Ok(Some(Command::User(command))) => Some(command),
        _ => None,
    }
}

/// What a staff member's typed line is, through the one vocabulary: plain
/// text is a reply to the ticket in hand.
pub fn agent_command(text: &str) -> Result<bot::engine::AgentCommand, bot::engine::Refusal> {
    use bot::engine::AgentCommand;
    use bot::engine::commands::{Command, Side, parse};
    match parse(text, Side::Staff)? {
        None => Ok(AgentCommand::Reply {
            text: text.to_owned(),
            attachments: Vec::new(),
        }),
        Some(Command::Agent(command)) => Ok(command),
        Some(other) => panic!("`{text}` is not an agent command: {other:?}"),
    }
}

/// An admin's typed command, through the one vocabulary.
pub fn admin_command(text: &str) -> Option<bot::engine::AdminCommand> {
    use bot::engine::commands::{Command, Side, parse};
    match parse(text, Side::Staff) {
        Ok(Some(Command::Admin(command))) => Some(command),
        _ => None,
    }
}
