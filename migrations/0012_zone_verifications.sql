CREATE TABLE `zone_verifications` (
	`zone_id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`match` integer NOT NULL,
	`served_serial` integer,
	`primary_serial` integer,
	`result` text NOT NULL,
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
