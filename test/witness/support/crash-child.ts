/**
 * A witness process that exits (as if killed) right after it made its new state durable and
 * before it answers: the one crash point a kill from outside cannot hit reliably.
 * argv: keyFile policyFile stateFile rpcUrl
 */
import { createChainClients } from "../../../src/chain/clients";
import { openWitness, startWitnessServer } from "../../../src/witness";

async function main() {
  const [keyFile, policyFile, stateFile, rpcUrl] = process.argv.slice(2);
  const { publicClient } = createChainClients({ rpcUrl, chainId: 1 });
  const witness = await openWitness({
    keyFile,
    policyFile,
    stateFile,
    publicClient,
    fault: () => process.exit(137),
  });
  const server = await startWitnessServer(witness, { origins: [witness.origin] });
  process.stdout.write(`witness ${witness.name} listening on ${server.url}\n`);
}
void main();
