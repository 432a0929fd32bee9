#!/usr/bin/env node
// The `forge` command: talks to the platform admin API (see README, "CLI").
import { register } from "tsx/esm/api";

register();
await import("./cli/main.ts");
