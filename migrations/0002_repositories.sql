CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`kind` text NOT NULL,
	`actor` text,
	`title` text NOT NULL,
	`payload` text DEFAULT '{}' NOT NULL,
	`key` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_key_unique` ON `events` (`key`);--> statement-breakpoint
CREATE INDEX `events_project` ON `events` (`project_id`,`id`);--> statement-breakpoint
ALTER TABLE `projects` ADD `protected_branches` text DEFAULT '[]' NOT NULL;