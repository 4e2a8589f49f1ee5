// The Help page (/): nothing of its own beyond what every page gets from
// common.js (the header, this registry's cargo snippets and copy buttons).

import { start } from "./common.js";

start();
