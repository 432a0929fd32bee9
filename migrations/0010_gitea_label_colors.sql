CREATE TABLE `issue_label_colors` (
	`project_id` integer NOT NULL,
	`name_key` text NOT NULL,
	`color` text NOT NULL,
	PRIMARY KEY(`project_id`, `name_key`),
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
