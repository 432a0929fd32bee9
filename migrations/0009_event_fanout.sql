ALTER TABLE `events` ADD `pending` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `events_pending` ON `events` (`id`) WHERE "events"."pending" = 1;