/**
 * What MLflow learns about a path's git repository (`mlflow/utils/git_utils.py`, with GitPython):
 * the HEAD commit, the first remote's URL, and the `file://<repo>#<subdir>` source name of project
 * runs. Read from the `.git` files directly, without running `git`: a worker has no PATH unless
 * granted one, and a provider asked on every `startRun` must answer in milliseconds.
 *
 * Handled: repositories found up the parents, `.git` files (worktrees, submodules) with
 * `commondir`, symbolic and detached HEADs, loose and packed refs. Not handled: MLflow also
 * answers None for a git-ignored script, which needs git's ignore rules.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface GitRepository {
  /** The working tree's root folder. */
  readonly workTree: string;
  /** Where HEAD lives (`.git`, or the worktree's folder under `.git/worktrees/`). */
  readonly gitDir: string;
  /** Where refs, packed-refs and config live (the main `.git` for a worktree). */
  readonly commonDir: string;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The repository `path` (a file or a folder) belongs to, searching up the parents; null if none. */
export function findGitRepository(path: string): GitRepository | null {
  let folder = resolve(path);
  // As GitPython: a file stands for its folder; a path that does not exist has no repository.
  if (!isDirectory(folder)) {
    if (!existsSync(folder)) return null;
    folder = dirname(folder);
  }
  for (;;) {
    const dotGit = join(folder, '.git');
    if (isDirectory(dotGit)) {
      if (existsSync(join(dotGit, 'HEAD'))) return { workTree: folder, gitDir: dotGit, commonDir: commonDirOf(dotGit) };
    } else {
      const link = /^gitdir:\s*(.+?)\s*$/m.exec(readText(dotGit) ?? '');
      if (link) {
        const gitDir = resolve(folder, link[1]);
        if (existsSync(join(gitDir, 'HEAD'))) return { workTree: folder, gitDir, commonDir: commonDirOf(gitDir) };
      }
    }
    const parent = dirname(folder);
    if (parent === folder) return null;
    folder = parent;
  }
}

function commonDirOf(gitDir: string): string {
  const common = readText(join(gitDir, 'commondir'));
  return common === null ? gitDir : resolve(gitDir, common.trim());
}

function resolveRef(repository: GitRepository, ref: string, depth = 0): string | null {
  if (depth > 5) return null;
  for (const dir of [repository.gitDir, repository.commonDir]) {
    const text = readText(join(dir, ...ref.split('/')))?.trim();
    if (text === undefined) continue;
    if (text.startsWith('ref:')) return resolveRef(repository, text.slice(4).trim(), depth + 1);
    return SHA.test(text) ? text : null;
  }
  for (const line of (readText(join(repository.commonDir, 'packed-refs')) ?? '').split('\n')) {
    const [sha, name] = line.trim().split(' ');
    if (name === ref && SHA.test(sha)) return sha;
  }
  return null;
}

/** The HEAD commit of the repository `path` belongs to (MLflow's `get_git_commit`); null if none. */
export function gitCommit(path: string): string | null {
  const repository = findGitRepository(path);
  if (!repository) return null;
  const head = readText(join(repository.gitDir, 'HEAD'))?.trim() ?? '';
  if (head.startsWith('ref:')) return resolveRef(repository, head.slice(4).trim());
  return SHA.test(head) ? head : null;
}

/** The URL of the repository's first remote (MLflow's `get_git_repo_url`); null if it has none. */
export function gitRepoUrl(path: string): string | null {
  const repository = findGitRepository(path);
  if (!repository) return null;
  let inRemote = false;
  for (const raw of (readText(join(repository.commonDir, 'config')) ?? '').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inRemote = /^\[remote\s+"[^"]*"\]$/.test(line);
    else if (inRemote) {
      const url = /^url\s*=\s*(.*)$/i.exec(line);
      if (url) return url[1].replace(/^"(.*)"$/, '$1');
    }
  }
  return null;
}

/**
 * MLflow's `_get_git_url_if_present`: `file://<working tree>` plus `#<subfolder>` for a folder in
 * a repository; the path itself otherwise.
 */
export function gitSourceUrl(path: string): string {
  const absolute = resolve(path);
  const repository = findGitRepository(absolute);
  if (!repository) return absolute;
  const inside = relative(repository.workTree, absolute).split(sep).join('/');
  return `file://${repository.workTree}${inside === '' ? '' : `#${inside}`}`;
}
