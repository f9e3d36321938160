import { describeWithPg } from "../support/pg";
import { shouldBehaveLikeALedger } from "./behaviour";

describeWithPg("ledger (postgres)", (ctx) => {
  shouldBehaveLikeALedger({ name: "postgres", url: () => ctx.url });
});
