//! Who may take which ticket: teams by category, VIP users, and account
//! managers who get their VIPs' tickets first.
//!
//! This is configuration (the bot reads it from its settings and hands it to
//! [`crate::Store::with_routing`]); the store applies it when a ticket opens
//! (team, priority, preferred agent) and when an agent asks for the next
//! ticket ([`crate::Store::claim_next`], [`crate::Store::queue_for`]).
//! An explicit claim of a ticket by id is an agent's decision and is not
//! restricted.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{AgentId, Priority, UserId};

/// How tickets are routed. The default routes nothing: every agent may take
/// every ticket, in priority order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Routing {
    /// Users whose tickets are at least VIP priority.
    pub vip_users: Vec<UserId>,
    /// Teams by name, with their agents.
    pub teams: HashMap<String, Vec<AgentId>>,
    /// Category id → the team that handles it. A ticket whose category is not
    /// listed (or has none) is for any agent.
    pub category_teams: HashMap<String, String>,
    /// VIP user → their account manager, who alone may take the user's
    /// waiting ticket from the queue for `manager_wait_secs`, after which the
    /// ticket falls back to the team queue.
    pub account_managers: HashMap<UserId, AgentId>,
    /// How long an account manager has a ticket to themselves.
    pub manager_wait_secs: u64,
}

impl Routing {
    /// The team for tickets of `category`, if one is configured.
    pub fn team_for(&self, category: Option<&str>) -> Option<&str> {
        category
            .and_then(|c| self.category_teams.get(c))
            .map(String::as_str)
    }

    /// The teams `agent` belongs to.
    pub fn teams_of(&self, agent: AgentId) -> Vec<String> {
        let mut teams: Vec<String> = self
            .teams
            .iter()
            .filter(|(_, agents)| agents.contains(&agent))
            .map(|(name, _)| name.clone())
            .collect();
        teams.sort();
        teams
    }

    /// Whether any category is routed to a team (if not, teams are ignored).
    pub fn routes_by_team(&self) -> bool {
        !self.category_teams.is_empty()
    }

    /// `priority`, raised to VIP for a configured VIP user.
    pub fn priority_for(&self, user: UserId, priority: Priority) -> Priority {
        if self.vip_users.contains(&user) {
            priority.min(Priority::Vip)
        } else {
            priority
        }
    }

    /// The account manager of `user`, if any.
    pub fn manager_of(&self, user: UserId) -> Option<AgentId> {
        self.account_managers.get(&user).copied()
    }

    pub fn manager_wait(&self) -> Duration {
        Duration::from_secs(self.manager_wait_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vip_user_is_raised_to_vip_but_an_urgent_ticket_stays_urgent() {
        let routing = Routing {
            vip_users: vec![7],
            ..Routing::default()
        };
        assert_eq!(routing.priority_for(7, Priority::Normal), Priority::Vip);
        assert_eq!(routing.priority_for(7, Priority::Urgent), Priority::Urgent);
        assert_eq!(routing.priority_for(8, Priority::Normal), Priority::Normal);
    }

    #[test]
    fn an_agent_belongs_to_the_teams_that_list_them() {
        let routing = Routing {
            teams: HashMap::from([
                ("kyc".to_string(), vec![1, 2]),
                ("p2p".to_string(), vec![2]),
            ]),
            category_teams: HashMap::from([("kyc".to_string(), "kyc".to_string())]),
            ..Routing::default()
        };
        assert_eq!(routing.teams_of(2), ["kyc", "p2p"]);
        assert!(routing.teams_of(3).is_empty());
        assert_eq!(routing.team_for(Some("kyc")), Some("kyc"));
        assert_eq!(routing.team_for(Some("deposit")), None);
    }
}
