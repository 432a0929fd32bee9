CREATE TABLE `issue_attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`issue_id` integer NOT NULL,
	`project_id` integer NOT NULL,
	`comment_id` integer,
	`filename` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`r2_key` text NOT NULL,
	`uploader_id` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`issue_id`) REFERENCES `issues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`comment_id`) REFERENCES `issue_comments`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`uploader_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `issue_attachments_issue` ON `issue_attachments` (`issue_id`);--> statement-breakpoint
CREATE TABLE `issue_comments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`issue_id` integer NOT NULL,
	`project_id` integer NOT NULL,
	`author_id` integer,
	`body` text DEFAULT '' NOT NULL,
	`changes` text DEFAULT '{}' NOT NULL,
	`key` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`issue_id`) REFERENCES `issues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `issue_comments_key_unique` ON `issue_comments` (`key`);--> statement-breakpoint
CREATE INDEX `issue_comments_issue` ON `issue_comments` (`issue_id`,`id`);--> statement-breakpoint
CREATE INDEX `issue_comments_project` ON `issue_comments` (`project_id`,`id`);--> statement-breakpoint
CREATE TABLE `issue_config` (
	`project_id` integer PRIMARY KEY NOT NULL,
	`open_statuses` text NOT NULL,
	`closed_statuses` text NOT NULL,
	`labels` text NOT NULL,
	`one_value_classes` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `issue_labels` (
	`issue_id` integer NOT NULL,
	`project_id` integer NOT NULL,
	`name` text NOT NULL,
	`name_key` text NOT NULL,
	PRIMARY KEY(`issue_id`, `name_key`),
	FOREIGN KEY (`issue_id`) REFERENCES `issues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `issue_labels_project` ON `issue_labels` (`project_id`,`name_key`);--> statement-breakpoint
CREATE TABLE `issue_relations` (
	`issue_id` integer NOT NULL,
	`kind` text NOT NULL,
	`other_id` integer NOT NULL,
	`project_id` integer NOT NULL,
	PRIMARY KEY(`issue_id`, `kind`, `other_id`),
	FOREIGN KEY (`issue_id`) REFERENCES `issues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`other_id`) REFERENCES `issues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `issue_relations_other` ON `issue_relations` (`other_id`);--> statement-breakpoint
CREATE TABLE `issue_stars` (
	`issue_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`issue_id`, `user_id`),
	FOREIGN KEY (`issue_id`) REFERENCES `issues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `issue_stars_user` ON `issue_stars` (`user_id`);--> statement-breakpoint
CREATE TABLE `issue_templates` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`name` text NOT NULL,
	`summary` text DEFAULT '' NOT NULL,
	`body` text DEFAULT '' NOT NULL,
	`labels` text DEFAULT '' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `issue_templates_project_name` ON `issue_templates` (`project_id`,`name`);--> statement-breakpoint
CREATE TABLE `issues` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`number` integer NOT NULL,
	`summary` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`status` text NOT NULL,
	`state` text DEFAULT 'open' NOT NULL,
	`submitter_id` integer,
	`owner_id` integer,
	`due_date` text,
	`comment_count` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`closed_at` text,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`submitter_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `issues_project_number` ON `issues` (`project_id`,`number`);--> statement-breakpoint
CREATE INDEX `issues_project_state` ON `issues` (`project_id`,`state`,`updated_at`);--> statement-breakpoint
CREATE INDEX `issues_project_due` ON `issues` (`project_id`,`state`,`due_date`);--> statement-breakpoint
CREATE INDEX `issues_owner` ON `issues` (`owner_id`,`state`);--> statement-breakpoint
CREATE INDEX `issues_submitter` ON `issues` (`submitter_id`,`state`);--> statement-breakpoint
-- Full-text search of issues (written by hand: drizzle's schema cannot express FTS5). One row per
-- issue, rowid = issues.id, kept in step by the triggers below; comments are appended to one column.
CREATE VIRTUAL TABLE `issues_fts` USING fts5(summary, description, comments, tokenize = 'unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER `issues_fts_insert` AFTER INSERT ON `issues` BEGIN
	INSERT INTO issues_fts (rowid, summary, description, comments) VALUES (new.id, new.summary, new.description, '');
END;
--> statement-breakpoint
CREATE TRIGGER `issues_fts_update` AFTER UPDATE OF summary, description ON `issues` BEGIN
	UPDATE issues_fts SET summary = new.summary, description = new.description WHERE rowid = new.id;
END;
--> statement-breakpoint
CREATE TRIGGER `issues_fts_delete` AFTER DELETE ON `issues` BEGIN
	DELETE FROM issues_fts WHERE rowid = old.id;
END;
--> statement-breakpoint
CREATE TRIGGER `issue_comments_fts_insert` AFTER INSERT ON `issue_comments` WHEN new.body <> '' BEGIN
	UPDATE issues_fts SET comments = comments || char(10) || new.body WHERE rowid = new.issue_id;
END;
