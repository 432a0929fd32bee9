// drizzle-kit configuration of the tenant database schema (npm run db:generate).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: [
    "./src/db/schema.ts",
    "./src/db/downloads-schema.ts",
    "./src/db/wiki-schema.ts",
    "./src/db/reviews-schema.ts",
    "./src/db/notifications-schema.ts",
    "./src/db/webhooks-schema.ts",
  ],
  out: "./migrations",
});
