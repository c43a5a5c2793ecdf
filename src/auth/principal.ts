/** Who is calling, as proven by a verified token. */
export interface Principal {
  userId: string;
  name?: string;
  roles: string[];
  isAdmin: boolean;
  /** Token expiry, epoch seconds. */
  exp: number;
}

export const ADMIN_ROLES = ['admin', 'chat_admin'];
