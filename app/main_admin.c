/*
 * modbox-admin: the operator's command line.  Each command that makes
 * something prints what it made (an id or a key) alone on stdout, so
 * scripts can capture it; a misuse is explained in one line on stderr with
 * exit status 2; a failure of the database or the key file exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "store_account.h"
#include "store_registry.h"
#include "uuid.h"
#include "validate.h"

static const char usage[] =
    "usage: modbox-admin COMMAND\n"
    "  migrate                          apply schema migrations\n"
    "  workspace create NAME            make a workspace, print its id\n"
    "  user create NAME                 make a user, print its id\n"
    "  member add WORKSPACE_ID USER_ID ROLE   role: owner|admin|member|viewer\n"
    "  key create USER_ID               make an API key, print it (shown once)\n"
    "  key list USER_ID                 list key ids and dates, never keys\n"
    "  key revoke KEY|KEY_ID            revoke a key\n"
    "  crypto-key generate              add a new newest master key, print its id\n"
    "  crypto-key rotate                re-encrypt every secret under the newest key\n"
    "  secrets check                    check that every stored secret decrypts\n"
    "The config file is $MODBOX_CONF or " SYSCONFDIR "/modbox/modbox.conf.\n";

struct admin {
	struct config cfg;
	struct db *db;
	struct keyring *ring;
};

static int
misuse(const char *msg)
{
	fprintf(stderr, "modbox-admin: %s (see modbox-admin --help)\n", msg);
	return 2;
}

static int
fail(const char *what, enum db_status st)
{
	fprintf(stderr, "modbox-admin: %s failed: %s\n", what,
	    st == DB_UNAVAILABLE ? "the database is unavailable" :
	    st == DB_NOT_FOUND ? "not found" :
	    st == DB_DUPLICATE ? "already exists" : "database error");
	return 1;
}

static int
parse_id(const char *s, struct uuid *u, const char *what)
{
	char msg[96];

	if (uuid_parse(s, strlen(s), u) == 0)
		return 0;
	snprintf(msg, sizeof msg, "%s must be a UUID", what);
	return misuse(msg);
}

static void
print_id(const struct uuid *u)
{
	char s[UUID_TEXT_LEN + 1];

	uuid_format(u, s);
	printf("%s\n", s);
}

static int
need_db(struct admin *a)
{
	enum db_status st;

	if (mysql_library_init(0, NULL, NULL) != 0 ||
	    (a->db = db_new(&a->cfg.database)) == NULL) {
		fprintf(stderr, "modbox-admin: the MariaDB client could not start\n");
		return 1;
	}
	if ((st = db_connect(a->db)) != DB_OK)
		return fail("connecting to the database", st);
	return 0;
}

static int
need_ring(struct admin *a)
{
	char err[512];

	if (a->cfg.crypto.key_file == NULL) {
		fprintf(stderr, "modbox-admin: %s: [crypto] key_file is not set\n",
		    a->cfg.path ? a->cfg.path : "config");
		return 1;
	}
	if (keyring_load(a->cfg.crypto.key_file, &a->ring, err, sizeof err) != 0) {
		fprintf(stderr, "modbox-admin: bad key file: %s\n", err);
		return 1;
	}
	return 0;
}

static int
cmd_migrate(struct admin *a)
{
	unsigned version;
	enum db_status st;

	if (need_db(a))
		return 1;
	if ((st = migrate_run(a->db, &version)) != DB_OK)
		return fail("migrate", st);
	printf("%u\n", version);
	return 0;
}

static int
cmd_create_named(struct admin *a, const char *what, const char *name,
                 enum db_status (*create)(struct db *, const char *, struct uuid *))
{
	struct uuid id;
	enum db_status st;
	const char *why = validate_name(name, strlen(name));
	char msg[128];

	if (why != NULL) {
		snprintf(msg, sizeof msg, "%s name %s", what, why);
		return misuse(msg);
	}
	if (need_db(a))
		return 1;
	if ((st = create(a->db, name, &id)) != DB_OK)
		return fail(what, st);
	print_id(&id);
	return 0;
}

static int
cmd_member_add(struct admin *a, char **argv)
{
	struct uuid ws, user;
	enum role role;
	enum db_status st;

	if (parse_id(argv[0], &ws, "WORKSPACE_ID") || parse_id(argv[1], &user, "USER_ID"))
		return 2;
	if ((role = role_parse(argv[2])) == ROLE_NONE)
		return misuse("ROLE must be owner, admin, member or viewer");
	if (need_db(a))
		return 1;
	st = store_member_set(a->db, &ws, &user, role);
	if (st == DB_NOT_FOUND) {
		fprintf(stderr, "modbox-admin: no such workspace or user\n");
		return 1;
	}
	return st == DB_OK ? 0 : fail("member add", st);
}

static int
cmd_key_create(struct admin *a, const char *user_s)
{
	struct uuid user, id;
	char key[API_KEY_TEXT_MAX + 1];
	enum db_status st;

	if (parse_id(user_s, &user, "USER_ID"))
		return 2;
	if (need_db(a))
		return 1;
	st = store_key_create(a->db, &user, key, sizeof key, &id);
	if (st == DB_NOT_FOUND) {
		fprintf(stderr, "modbox-admin: no such user\n");
		return 1;
	}
	if (st != DB_OK)
		return fail("key create", st);
	printf("%s\n", key);
	crypto_wipe(key, sizeof key);
	return 0;
}

static void
print_key(const struct key_info *ki, void *arg)
{
	char id[UUID_TEXT_LEN + 1];

	(void)arg;
	uuid_format(&ki->id, id);
	if (ki->revoked_at[0])
		printf("%s created %s revoked %s\n", id, ki->created_at, ki->revoked_at);
	else
		printf("%s created %s\n", id, ki->created_at);
}

static int
cmd_key_list(struct admin *a, const char *user_s)
{
	struct uuid user;
	enum db_status st;

	if (parse_id(user_s, &user, "USER_ID"))
		return 2;
	if (need_db(a))
		return 1;
	st = store_key_list(a->db, &user, print_key, NULL);
	if (st == DB_NOT_FOUND) {
		fprintf(stderr, "modbox-admin: no such user\n");
		return 1;
	}
	return st == DB_OK ? 0 : fail("key list", st);
}

static int
cmd_key_revoke(struct admin *a, const char *arg)
{
	struct uuid id;
	unsigned char hash[32];
	bool by_id = uuid_parse(arg, strlen(arg), &id) == 0;
	enum db_status st;

	if (!by_id && !api_key_well_formed(arg, strlen(arg)))
		return misuse("give the key (mbx_...) or its id (a UUID)");
	if (!by_id)
		api_key_hash(arg, strlen(arg), hash);
	if (need_db(a))
		return 1;
	st = store_key_revoke(a->db, by_id ? &id : NULL, by_id ? NULL : hash);
	if (st == DB_NOT_FOUND) {
		fprintf(stderr, "modbox-admin: no such key, or already revoked\n");
		return 1;
	}
	return st == DB_OK ? 0 : fail("key revoke", st);
}

static int
cmd_crypto_generate(struct admin *a)
{
	uint32_t id;
	char err[512];

	if (a->cfg.crypto.key_file == NULL) {
		fprintf(stderr, "modbox-admin: %s: [crypto] key_file is not set\n",
		    a->cfg.path ? a->cfg.path : "config");
		return 1;
	}
	if (keyring_generate(a->cfg.crypto.key_file, &id, err, sizeof err) != 0) {
		fprintf(stderr, "modbox-admin: %s\n", err);
		return 1;
	}
	printf("%u\n", id);
	return 0;
}

struct walk {
	struct admin *a;
	bool rotate;
	unsigned ok, bad, changed, raced;
	enum db_status st;
};

/* Open one stored secret; when rotating, reseal it under the newest key. */
static int
walk_one(const struct registry *r, const struct sealed *s, void *arg)
{
	struct walk *w = arg;
	unsigned char ad[REGISTRY_AD_LEN];
	char *pt = NULL, id[UUID_TEXT_LEN + 1];
	size_t ptlen = 0;
	struct sealed fresh;
	enum db_status st;

	registry_secret_ad(r, ad);
	if (crypto_open(w->a->ring, ad, sizeof ad, s, &pt, &ptlen) != 0) {
		uuid_format(&r->id, id);
		fprintf(stderr, "modbox-admin: registry %s: the stored password does "
		    "not decrypt (tampered, moved from another row, or sealed by a "
		    "key missing from the key file)\n", id);
		w->bad++;
		return 0;
	}
	w->ok++;
	if (w->rotate && s->key_id != keyring_newest_id(w->a->ring)) {
		memset(&fresh, 0, sizeof fresh);
		if (crypto_seal(w->a->ring, ad, sizeof ad, pt, ptlen, &fresh) != 0) {
			crypto_secret_free(pt, ptlen);
			w->st = DB_ERROR;
			return 1;
		}
		st = store_registry_reseal(w->a->db, &r->id, s, &fresh);
		sealed_clear(&fresh);
		if (st == DB_OK)
			w->changed++;
		else if (st == DB_NOT_FOUND)
			w->raced++;	/* changed meanwhile: already fresh */
		else {
			w->st = st;
			crypto_secret_free(pt, ptlen);
			return 1;
		}
	}
	crypto_secret_free(pt, ptlen);
	return 0;
}

static int
cmd_walk(struct admin *a, bool rotate)
{
	struct walk w = { .a = a, .rotate = rotate, .st = DB_OK };
	enum db_status st;

	if (need_ring(a) || need_db(a))
		return 1;
	st = store_registry_each_secret(a->db, walk_one, &w);
	if (st == DB_OK)
		st = w.st;
	if (st != DB_OK)
		return fail(rotate ? "crypto-key rotate" : "secrets check", st);
	printf("%u\n", rotate ? w.changed : w.ok);
	return w.bad ? 1 : 0;
}

static int
dispatch(struct admin *a, int argc, char **argv)
{
	const char *c = argv[0], *sub = argc > 1 ? argv[1] : "";

#define IS(cmd, subcmd, nargs) \
	(strcmp(c, cmd) == 0 && strcmp(sub, subcmd) == 0 && argc == (nargs))
	if (strcmp(c, "migrate") == 0 && argc == 1)
		return cmd_migrate(a);
	if (IS("workspace", "create", 3))
		return cmd_create_named(a, "workspace", argv[2], store_workspace_create);
	if (IS("user", "create", 3))
		return cmd_create_named(a, "user", argv[2], store_user_create);
	if (IS("member", "add", 5))
		return cmd_member_add(a, argv + 2);
	if (IS("key", "create", 3))
		return cmd_key_create(a, argv[2]);
	if (IS("key", "list", 3))
		return cmd_key_list(a, argv[2]);
	if (IS("key", "revoke", 3))
		return cmd_key_revoke(a, argv[2]);
	if (IS("crypto-key", "generate", 2))
		return cmd_crypto_generate(a);
	if (IS("crypto-key", "rotate", 2))
		return cmd_walk(a, true);
	if (IS("secrets", "check", 2))
		return cmd_walk(a, false);
#undef IS
	return misuse("unknown command or wrong number of arguments");
}

int
main(int argc, char **argv)
{
	struct admin a;
	char err[512];
	int rc;

	log_set_program("modbox-admin");
	log_set_level(LOG_LVL_WARN);
	memset(&a, 0, sizeof a);
	if (argc < 2)
		return misuse("a command is needed");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (crypto_init() != 0) {
		fprintf(stderr, "modbox-admin: libgcrypt could not be initialised\n");
		return 1;
	}
	if (config_load(&a.cfg, config_default_path(), err, sizeof err) != 0) {
		fprintf(stderr, "modbox-admin: bad config: %s\n", err);
		config_free(&a.cfg);
		return 1;
	}
	rc = dispatch(&a, argc - 1, argv + 1);
	db_free(a.db);
	if (a.db != NULL)
		mysql_library_end();
	keyring_free(a.ring);
	config_free(&a.cfg);
	return rc;
}
