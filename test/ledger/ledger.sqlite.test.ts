import { shouldBehaveLikeALedger } from "./behaviour";
import { tempSqliteUrl } from "./support";

describe("ledger (sqlite)", () => {
  const { url } = tempSqliteUrl();
  shouldBehaveLikeALedger({ name: "sqlite", url: () => url });
});
