-- A prize's optional picture for the lottery page (campaign files: awards[].image),
-- a path on the server's own origin or a data: URL.
ALTER TABLE strategy_award ADD COLUMN award_image TEXT NOT NULL DEFAULT '';
