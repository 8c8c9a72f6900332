-- A prize's optional picture for the lottery page (campaign files: awards[].image),
-- a path on the server's own origin or a data: URL (up to 64 KiB, so TEXT is not
-- enough for every value; NULL reads as none).
ALTER TABLE strategy_award ADD COLUMN award_image MEDIUMTEXT NULL;
