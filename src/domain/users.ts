// Users and their API tokens. Tokens are shown once and stored as SHA-256 hashes.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient, User } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import { type Actor, requireAdmin } from './actor';
import { ConflictError, UnauthenticatedError, ValidationError } from './errors';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const BOOTSTRAP_TOKEN_NAME = 'HOOKGATE_ADMIN_TOKEN';
/** How long a verified token is trusted without asking the database again. */
const TOKEN_CACHE_MS = 5_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function newToken(): string {
  return `hg_${randomBytes(32).toString('base64url')}`;
}

export interface CreateUserInput {
  username: string;
  isAdmin?: boolean;
}

export class UserService {
  // Keyed by token hash, never by the token itself.
  private readonly verified = new Map<string, { actor: Actor; until: number }>();

  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Resolves a bearer token to its user. Looking the token up by its hash compares nothing
   * secret in application code, so there is no timing signal to leak.
   */
  async authenticate(token: string | null | undefined): Promise<Actor> {
    if (!token) throw new UnauthenticatedError();
    const hash = hashToken(token);
    const cached = this.verified.get(hash);
    const now = Date.now();
    if (cached && cached.until > now) return cached.actor;
    const row = await this.prisma.apiToken.findUnique({ where: { tokenHash: hash }, include: { user: true } });
    if (!row) {
      this.verified.delete(hash);
      throw new UnauthenticatedError('The API token is not valid');
    }
    const actor: Actor = { id: row.user.id, username: row.user.username, isAdmin: row.user.isAdmin };
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(hash, { actor, until: now + TOKEN_CACHE_MS });
    // Throttled by the cache: one write per token per few seconds, not one per request.
    await this.prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } });
    return actor;
  }

  async createUser(actor: Actor, input: CreateUserInput): Promise<{ user: User; token: string }> {
    requireAdmin(actor, 'Only administrators can create users');
    const username = input.username.trim();
    if (!USERNAME.test(username)) {
      throw ValidationError.of('username', 'must start with a letter or digit and contain only letters, digits, ".", "_" or "-" (at most 255 characters)');
    }
    const token = newToken();
    try {
      const user = await this.prisma.user.create({
        data: { username, isAdmin: input.isAdmin ?? false, tokens: { create: { name: 'default', tokenHash: hashToken(token) } } },
      });
      return { user, token };
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        throw new ConflictError('username', 'has already been taken');
      }
      throw error;
    }
  }

  /** Issues another token for a user (the caller itself, or anyone for an admin). */
  async issueToken(actor: Actor, userId: number, name: string): Promise<string> {
    if (actor.id !== userId) requireAdmin(actor);
    if (name.trim() === '' || name.length > 255) throw ValidationError.of('name', 'must be 1 to 255 characters');
    const token = newToken();
    await this.prisma.apiToken.create({ data: { userId, name, tokenHash: hashToken(token) } });
    return token;
  }

  async findById(id: number): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  /**
   * Makes `root` an admin whose token is `token`. Safe when several processes start at once:
   * both statements are single-row upserts (INSERT … ON CONFLICT on PostgreSQL).
   */
  async bootstrapAdmin(token: string): Promise<User> {
    const tokenHash = hashToken(token);
    const root = await this.prisma.user.upsert({
      where: { username: 'root' },
      create: { username: 'root', isAdmin: true },
      update: { isAdmin: true },
    });
    await this.prisma.apiToken.deleteMany({ where: { userId: root.id, name: BOOTSTRAP_TOKEN_NAME, NOT: { tokenHash } } });
    await this.prisma.apiToken.upsert({
      where: { tokenHash },
      create: { userId: root.id, name: BOOTSTRAP_TOKEN_NAME, tokenHash },
      update: { userId: root.id, name: BOOTSTRAP_TOKEN_NAME },
    });
    this.verified.clear();
    return root;
  }
}
