-- Full-text search of wiki pages (written by hand: drizzle's schema cannot express FTS5). One row
-- per page, rowid = wiki_pages.id, holding the current title and body; the triggers keep it in
-- step in the same statement as every page write, so a save or a deletion is searchable at once.
CREATE VIRTUAL TABLE `wiki_fts` USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER `wiki_fts_insert` AFTER INSERT ON `wiki_pages` BEGIN
	INSERT INTO wiki_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
--> statement-breakpoint
CREATE TRIGGER `wiki_fts_update` AFTER UPDATE OF title, body ON `wiki_pages` BEGIN
	UPDATE wiki_fts SET title = new.title, body = new.body WHERE rowid = new.id;
END;
--> statement-breakpoint
CREATE TRIGGER `wiki_fts_delete` AFTER DELETE ON `wiki_pages` BEGIN
	DELETE FROM wiki_fts WHERE rowid = old.id;
END;
