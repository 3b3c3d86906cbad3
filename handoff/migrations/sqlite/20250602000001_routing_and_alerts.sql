-- Routing: the team a ticket's category goes to, and a VIP's account
-- manager who gets the ticket first, alone until preferred_until.
ALTER TABLE tickets ADD COLUMN team TEXT;
ALTER TABLE tickets ADD COLUMN preferred_agent INTEGER;
ALTER TABLE tickets ADD COLUMN preferred_until TEXT;
-- When agents were last told that this ticket has waited too long.
ALTER TABLE tickets ADD COLUMN last_alert_at TEXT;

CREATE INDEX tickets_claimed_at ON tickets (claimed_at);
CREATE INDEX tickets_closed_at ON tickets (closed_at);
