// Edge worker entry: every browser, git and admin request enters here.
import { createEdgeHandler } from "./app";

export default createEdgeHandler();
