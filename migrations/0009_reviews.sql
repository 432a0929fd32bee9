CREATE TABLE `review_comments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`review_id` integer NOT NULL,
	`author_id` integer,
	`body` text NOT NULL,
	`revision` integer NOT NULL,
	`path` text,
	`side` text,
	`line` integer,
	`line_text` text,
	`outdated_revision` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`review_id`) REFERENCES `reviews`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `review_comments_review` ON `review_comments` (`review_id`,`id`);--> statement-breakpoint
CREATE TABLE `review_reviewers` (
	`review_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`verdict` text NOT NULL,
	`revision` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`review_id`, `user_id`),
	FOREIGN KEY (`review_id`) REFERENCES `reviews`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `review_revisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`review_id` integer NOT NULL,
	`number` integer NOT NULL,
	`head_oid` text NOT NULL,
	`base_oid` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`review_id`) REFERENCES `reviews`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `review_revisions_number` ON `review_revisions` (`review_id`,`number`);--> statement-breakpoint
CREATE UNIQUE INDEX `review_revisions_head` ON `review_revisions` (`review_id`,`head_oid`);--> statement-breakpoint
CREATE TABLE `reviews` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`number` integer NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`author_id` integer,
	`source_branch` text NOT NULL,
	`target_branch` text NOT NULL,
	`merged_oid` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reviews_project_number` ON `reviews` (`project_id`,`number`);--> statement-breakpoint
CREATE INDEX `reviews_project_status` ON `reviews` (`project_id`,`status`,`number`);--> statement-breakpoint
CREATE INDEX `reviews_project_source` ON `reviews` (`project_id`,`source_branch`);--> statement-breakpoint
ALTER TABLE `projects` ADD `protected_need_approval` integer DEFAULT false NOT NULL;