-- The dedup key of the update that opened the ticket (from Telegram's
-- message id): the same update handled again after a crash is recognised
-- as the one that opened it, and answered as it was the first time.
ALTER TABLE tickets ADD COLUMN opened_by TEXT;
