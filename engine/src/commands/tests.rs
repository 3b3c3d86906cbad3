use super::*;

fn staff(text: &str) -> Result<Option<Command>, Refusal> {
    parse(text, Side::Staff)
}

#[test]
fn every_declared_command_parses_on_its_side() {
    for spec in COMMANDS {
        let side = if spec.role == Role::User {
            Side::User
        } else {
            Side::Staff
        };
        let example = match spec.args {
            "" | "[N]" => format!("/{}", spec.name),
            "N" | "USER_ID" | "AGENT_ID" => format!("/{} 7", spec.name),
            _ => format!("/{} a b", spec.name),
        };
        match parse(&example, side) {
            Ok(Some(command)) => assert!(
                command.role() == spec.role
                    || (spec.name == "start" && command.role() == Role::User),
                "{example} parsed as {command:?}"
            ),
            Err(Refusal::Usage { command }) if spec.name == "help" => {
                assert_eq!(command, "help")
            }
            other => panic!("{example} on {side:?}: {other:?}"),
        }
    }
}

#[test]
fn a_word_means_what_it_means_on_its_side() {
    assert_eq!(
        parse("/faq", Side::User),
        Ok(Some(Command::User(UserCommand::Browse)))
    );
    assert_eq!(
        staff("/faq deposit"),
        Ok(Some(Command::Agent(AgentCommand::Faq("deposit".into()))))
    );
    assert_eq!(
        parse("/start@helpdesk_bot", Side::User),
        Ok(Some(Command::User(UserCommand::Start)))
    );
    assert_eq!(
        parse("/HUMAN", Side::User),
        Ok(Some(Command::User(UserCommand::Human)))
    );
    assert_eq!(parse("start", Side::User), Ok(None));
    assert_eq!(parse("/unknown", Side::User), Ok(None));
    // A staff word typed by a user is found, to be refused by role.
    assert_eq!(
        parse("/claim 3", Side::User),
        Ok(Some(Command::Agent(AgentCommand::Claim(3))))
    );
}

#[test]
fn staff_arguments_are_checked_and_usage_named() {
    assert_eq!(
        staff("/claim@bot #12"),
        Ok(Some(Command::Agent(AgentCommand::Claim(12))))
    );
    assert_eq!(
        staff("/claim abc"),
        Err(Refusal::Usage {
            command: "claim".into()
        })
    );
    assert_eq!(
        staff("/close"),
        Ok(Some(Command::Agent(AgentCommand::Close(None))))
    );
    assert_eq!(staff("/frobnicate"), Err(Refusal::UnknownCommand));
    assert_eq!(
        staff("/help"),
        Err(Refusal::Usage {
            command: "help".into()
        })
    );
    assert_eq!(staff("hello there"), Ok(None));
    assert_eq!(
        staff(" /Reload@HelpdeskBot "),
        Ok(Some(Command::Admin(AdminCommand::Reload)))
    );
    assert_eq!(
        staff("/unlearn deposit 充币 没到"),
        Ok(Some(Command::Admin(AdminCommand::Unlearn {
            entry_id: "deposit".into(),
            text: "充币 没到".into()
        })))
    );
}

#[test]
fn ban_commands_name_a_user_a_ticket_or_the_topic() {
    let ban = |text| match staff(text) {
        Ok(Some(Command::Agent(AgentCommand::Ban(ban)))) => Some(ban),
        _ => None,
    };
    assert_eq!(
        ban("/ban 12345 spam links"),
        Some(BanCommand::Ban {
            target: Some(BanTarget::User(12345)),
            reason: "spam links".into()
        })
    );
    assert_eq!(
        ban("/ban #7 abuse"),
        Some(BanCommand::Ban {
            target: Some(BanTarget::Ticket(7)),
            reason: "abuse".into()
        })
    );
    assert_eq!(
        ban("/ban@helpdesk_bot insults"),
        Some(BanCommand::Ban {
            target: None,
            reason: "insults".into()
        })
    );
    assert_eq!(
        ban("/unban 5"),
        Some(BanCommand::Unban {
            target: Some(BanTarget::User(5))
        })
    );
    assert_eq!(ban("/banana"), None);
    assert_eq!(ban("ban 5"), None);
}

#[test]
fn menus_and_the_command_list_come_from_the_declaration() {
    let users: Vec<&str> = menu(Role::User).map(|s| s.name).collect();
    assert_eq!(users, ["start", "faq", "human", "cancel", "help"]);
    let list = agent_command_list("en");
    for spec in menu(Role::Agent) {
        assert!(list.contains(&format!("/{}", spec.name)), "{list}");
    }
    assert!(list.contains("/whoami"));
}
