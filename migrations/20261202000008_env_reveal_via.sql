-- How a value was disclosed: `reveal` (an admin's one value in the dashboard, REST or CLI) or
-- `pull` (`slipway env pull` writing an environment's values into a developer's file).
ALTER TABLE env_reveals ADD COLUMN via TEXT NOT NULL DEFAULT 'reveal';
