import { CustodyError } from "../src/errors";

/** The page is not built where it is served from, or the build's inputs changed shape. */
export class WebBuildError extends CustodyError {
  override name = "WebBuildError";
  constructor(message: string, opts: { details?: string } = {}) {
    super("WEB_BUILD", message, opts);
  }
}
