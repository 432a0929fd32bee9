ALTER TABLE `tenants` ADD `migration_attempted_at` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `migration_error` text;