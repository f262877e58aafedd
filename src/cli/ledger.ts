/** `bulwark ledger …`: verify, prove, export, checkpoint, rotate-key. */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { Command } from 'commander';
import { parseCheckpointNote, verifierKey, type SignedCheckpoint, type TrustedKey } from '../core/ledger/checkpoint.ts';
import { verifyConsistency, verifyInclusion } from '../core/ledger/merkle.ts';
import type { VerifyReport } from '../core/ledger/verify-log.ts';
import { exportLedger, verifyExport } from '../app/ledger/export.ts';
import { makeCheckpoint, rotateKey, viewCheckpoint } from '../app/ledger/checkpoints.ts';
import { verifyStore } from '../app/ledger/verify.ts';
import { filePublisher } from '../adapters/checkpoint-publishers.ts';
import { cliActor, configFrom, openContext, type StoreFlags } from './context.ts';
import { CliExit, malformed } from './exit.ts';
import { storeOptions } from './options.ts';

function hashArg(name: string, value: string | undefined): Buffer {
  if (value === undefined) throw malformed(`--${name} is required`);
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw malformed(`--${name} must be 64 hex digits (a SHA-256 hash), got "${value.slice(0, 80)}"`);
  return Buffer.from(value, 'hex');
}

function proofArg(value: string | undefined): Buffer[] {
  if (value === undefined || value === '') return [];
  return value.split(',').map((h, i) => {
    if (!/^[0-9a-fA-F]{64}$/.test(h)) throw malformed(`--proof item ${i + 1} must be 64 hex digits, got "${h.slice(0, 80)}"`);
    return Buffer.from(h, 'hex');
  });
}

function intArg(name: string, value: string | undefined, min = 0): number {
  if (value === undefined) throw malformed(`--${name} is required`);
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw malformed(`--${name} must be a whole number >= ${min}, got "${value.slice(0, 80)}"`);
  }
  return Number(value);
}

function readCheckpointFile(file: string): SignedCheckpoint {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw malformed(`cannot read checkpoint file ${file}: ${(e as Error).message}`);
  }
  const p = parseCheckpointNote(text);
  if (!p.ok) throw malformed(`${file} is not a signed checkpoint: ${p.reason}`);
  return p.value;
}

/** --key accepts a signed-note verifier key: NAME+KEYID+BASE64(0x01 || ed25519 public key). */
function parseVerifierKey(value: string): TrustedKey {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(value.trim());
  const raw = m ? Buffer.from(m[3]!, 'base64') : undefined;
  if (!m || !raw || raw.length !== 33 || raw[0] !== 0x01)
    throw malformed(`--key must be a verifier key NAME+KEYID+BASE64 (as "bulwark ledger keys" prints), got "${value.slice(0, 80)}"`);
  return { name: m[1]!, publicKey: raw.subarray(1) };
}

function printReport(r: VerifyReport, json: boolean): never {
  if (json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(r.ok ? `ledger ${r.message} (size ${r.size})\n` : `ledger verification FAILED: ${r.message}\n`);
  throw new CliExit(r.ok ? 0 : 1, '');
}

export function ledgerCommands(program: Command): void {
  const ledger = program.command('ledger').description('the tamper-evident ledger');

  storeOptions(
    ledger
      .command('verify')
      .description('recompute every leaf and root, check checkpoint signatures; exit 0 intact, 1 not')
      .option('--checkpoint <file>', 'a checkpoint published earlier: prove the log only grew since')
      .option('--file <export>', 'verify an export file instead of a database')
      .option('--key <verifierKey...>', 'trust only these keys (NAME+KEYID+BASE64)')
      .option('--json', 'print the report as JSON'),
  ).action(async (o: StoreFlags & { checkpoint?: string; file?: string; key?: string[]; json?: boolean }) => {
    const external = o.checkpoint ? readCheckpointFile(o.checkpoint) : undefined;
    const trustedKeys = o.key?.map(parseVerifierKey);
    if (o.file) {
      const file = o.file;
      const input = createReadStream(file, 'utf8');
      const opened = once(input, 'open').catch((e: Error) => {
        throw malformed(`cannot read export ${file}: ${e.message}`);
      });
      await opened;
      printReport(await verifyExport(createInterface({ input, crlfDelay: Infinity }), { external, trustedKeys }), !!o.json);
    }
    const { deps, close } = await openContext(configFrom(o), { mustExist: true });
    try {
      if (external && external.origin !== deps.origin) {
        throw new CliExit(1, `the checkpoint is for log "${external.origin}", this database holds "${deps.origin}"`);
      }
      printReport(await verifyStore(deps.store, { external, trustedKeys }), !!o.json);
    } finally {
      await close();
    }
  });

  ledger
    .command('prove-inclusion')
    .description('check an inclusion proof; exit 0 valid, 1 invalid, 2 malformed input')
    .requiredOption('--leaf-hash <hex>')
    .requiredOption('--index <n>')
    .requiredOption('--size <n>')
    .requiredOption('--root <hex>')
    .option('--proof <hex,hex,...>', 'the audit path, comma-separated', '')
    .action(async (o: { leafHash: string; index: string; size: string; root: string; proof: string }) => {
      const index = intArg('index', o.index);
      const size = intArg('size', o.size, 1);
      if (index >= size) throw malformed(`--index (${index}) must be below --size (${size})`);
      const err = verifyInclusion(index, size, hashArg('leaf-hash', o.leafHash), proofArg(o.proof), hashArg('root', o.root));
      if (err) throw new CliExit(1, `invalid: ${err}`);
      process.stdout.write('valid\n');
    });

  ledger
    .command('prove-consistency')
    .description('check a consistency proof; exit 0 valid, 1 invalid, 2 malformed input')
    .requiredOption('--size1 <n>')
    .requiredOption('--size2 <n>')
    .requiredOption('--root1 <hex>')
    .requiredOption('--root2 <hex>')
    .option('--proof <hex,hex,...>', 'the proof, comma-separated', '')
    .action(async (o: { size1: string; size2: string; root1: string; root2: string; proof: string }) => {
      const size1 = intArg('size1', o.size1, 1);
      const size2 = intArg('size2', o.size2, 1);
      if (size2 < size1) throw malformed(`--size2 (${size2}) must not be smaller than --size1 (${size1})`);
      const err = verifyConsistency(size1, size2, hashArg('root1', o.root1), hashArg('root2', o.root2), proofArg(o.proof));
      if (err) throw new CliExit(1, `invalid: ${err}`);
      process.stdout.write('valid\n');
    });

  storeOptions(
    ledger
      .command('export')
      .description('write entries as JSON lines with the latest checkpoint, verifiable with "verify --file"')
      .option('--from <seq>', 'first entry to export', '0')
      .option('--out <file>', 'write to a file instead of standard output'),
  ).action(async (o: StoreFlags & { from: string; out?: string }) => {
    const from = intArg('from', o.from);
    const { deps, close } = await openContext(configFrom(o), { mustExist: true });
    try {
      await makeCheckpoint(deps);
      const out = o.out ? createWriteStream(o.out) : process.stdout;
      for await (const line of exportLedger(deps.store, from)) {
        if (!out.write(line + '\n')) await once(out, 'drain');
      }
      if (o.out)
        await new Promise<void>((res, rej) =>
          (out as ReturnType<typeof createWriteStream>).end((e?: Error | null) => (e ? rej(e) : res())),
        );
    } finally {
      await close();
    }
  });

  storeOptions(
    ledger
      .command('checkpoint')
      .description('sign a checkpoint of the current head now; print the signed note')
      .option('--publish <file>', 'also write the note to this file')
      .option('--force', 'sign even when the head already has a checkpoint'),
  ).action(async (o: StoreFlags & { publish?: string; force?: boolean }) => {
    const { deps, close } = await openContext(configFrom(o));
    try {
      const { checkpoint } = await makeCheckpoint(deps, {
        force: o.force === true,
        publishers: o.publish ? [filePublisher(o.publish)] : [],
      });
      process.stdout.write(viewCheckpoint(checkpoint).note);
    } finally {
      await close();
    }
  });

  storeOptions(ledger.command('rotate-key').description('make a new checkpoint signing key; old checkpoints keep verifying')).action(
    async (o: StoreFlags) => {
      const { deps, close } = await openContext(configFrom(o));
      try {
        const r = await rotateKey(deps, cliActor());
        await makeCheckpoint(deps);
        process.stdout.write(`rotated: ${r.oldKeyId} -> ${r.newKeyId}\n`);
      } finally {
        await close();
      }
    },
  );

  storeOptions(ledger.command('keys').description('print the verifier keys of every checkpoint signing key')).action(
    async (o: StoreFlags) => {
      const { deps, close } = await openContext(configFrom(o));
      try {
        for (const k of await deps.store.ledger.keys()) {
          process.stdout.write(
            `${verifierKey(k.name, Buffer.from(k.publicKey, 'base64'))}${k.retiredAt ? `  (retired ${k.retiredAt})` : ''}\n`,
          );
        }
      } finally {
        await close();
      }
    },
  );
}
