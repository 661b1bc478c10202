import { EdgelakeError } from '../../errors.js';
import { swapRefs } from '../../format/builders/commit.js';
import { DEFAULT_LIMITS } from '../../format/limits.js';
import { REFS_PATH, versionPath, type Refs } from '../../format/manifest.js';
import type { Sink } from '../../format/sink.js';
import { NAME, parseJson, validateManifest, validateRefs } from '../../format/validate.js';
import { resolveName, resolveVersion } from './versions.js';

// Each change is one compare-and-swap of edgelake.json (swapRefs): a writer who moved it
// meanwhile makes this one fail with 'conflict', and nothing changes.

/** Creates ref `name` at the version `from` names (default: head); refuses a name already taken. */
export async function createBranch(sink: Sink, name: string, from?: string): Promise<string> {
  return addName(sink, 'refs', name, from);
}

/** Creates tag `name`, an immutable name, for the version `target` names (default: head). */
export async function createTag(sink: Sink, name: string, target?: string): Promise<string> {
  return addName(sink, 'tags', name, target);
}

/** Makes ref `ref` the dataset's head: the version readers open by default. */
export async function checkout(sink: Sink, ref: string): Promise<string> {
  const refs = await swapRefs(sink, (refs) => {
    if (!Object.hasOwn(refs.refs, ref)) {
      const { kind } = resolve(refs, ref);
      throw new EdgelakeError('invalid-input', `dataset ${refs.name}: ${ref} is a ${kind}, not a ref: head must be a ref (make one there: edgelake branch ROOT NAME --from ${ref})`);
    }
    return { ...refs, head: ref };
  });
  return refs.refs[ref];
}

/**
 * Refuses a branch name that is malformed or taken, before work that ends by creating it
 * (materialize writes its chunks first); createBranch checks again, under its swap.
 */
export async function checkNewBranch(sink: Sink, name: string): Promise<void> {
  checkName('branch', name);
  const bytes = await sink.read(REFS_PATH);
  if (bytes) checkFree(validateRefs(parseJson(bytes, REFS_PATH, DEFAULT_LIMITS)), 'branch', name);
}

function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw new EdgelakeError('invalid-input', `${what} name "${name}" must match ${NAME.source}`);
}

function checkFree(refs: Refs, what: string, name: string): void {
  const taken = Object.hasOwn(refs.refs, name) ? 'ref' : refs.tags && Object.hasOwn(refs.tags, name) ? 'tag' : undefined;
  if (taken) throw new EdgelakeError('invalid-input', `dataset ${refs.name}: ${name} is already a ${taken} (a ${what} name must be new)`);
}

async function addName(sink: Sink, kind: 'refs' | 'tags', name: string, from: string | undefined): Promise<string> {
  const what = kind === 'refs' ? 'branch' : 'tag';
  checkName(what, name);
  let versionId = '';
  await swapRefs(sink, async (refs) => {
    checkFree(refs, what, name);
    // A version id typed by hand (whole, or its first digits) may name nothing: its manifest must be there.
    const manifest = async (id: string, context: string) => {
      const bytes = await sink.read(versionPath(id));
      if (!bytes) throw new EdgelakeError('invalid-input', `${context}: no version ${id}`);
      return validateManifest(parseJson(bytes, versionPath(id), DEFAULT_LIMITS), versionPath(id), DEFAULT_LIMITS);
    };
    versionId = (await resolveVersion(refs, from ?? refs.head, manifest).catch(callersMistake)).versionId;
    await manifest(versionId, `dataset ${refs.name}`);
    return { ...refs, [kind]: { ...refs[kind], [name]: versionId } };
  });
  return versionId;
}

/** resolveName, with an unknown name as a mistake of the caller's. */
function resolve(refs: Refs, name: string): ReturnType<typeof resolveName> {
  try {
    return resolveName(refs, name);
  } catch (e) {
    return callersMistake(e);
  }
}

function callersMistake(e: unknown): never {
  throw e instanceof EdgelakeError && e.code === 'not-found' ? new EdgelakeError('invalid-input', e.message) : e;
}
