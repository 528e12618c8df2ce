-- The registrable domain of a venture's custom domain (its spec's domain section, as checked),
-- so the DNS doctor and the domain's uniqueness find the venture without reading every spec.
-- Ventures stored before this column are filled in when Slipway opens the database.
ALTER TABLE ventures ADD COLUMN domain TEXT;
CREATE INDEX ventures_by_domain ON ventures (domain);
