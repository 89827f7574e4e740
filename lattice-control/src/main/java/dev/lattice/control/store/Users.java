package dev.lattice.control.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/** The {@code users} table. Names are unique. */
public final class Users {
    private static final String COLUMNS = "id, name, display_name, email, provider, provider_id, created_at, profile_pic_url, idp_groups";
    private final Store store;

    Users(Store store) {
        this.store = store;
    }

    /** A local user. Throws {@link ConflictException} if the name is taken. */
    public User create(String name, String displayName, String email) {
        return create(name, displayName, email, "", null);
    }

    /** A user from an identity provider ({@code provider} e.g. {@code oidc}, {@code providerId} its subject). */
    public User create(String name, String displayName, String email, String provider, String providerId) {
        checkName(name);
        return store.write("create user \"" + name + "\"", h -> {
            long id = h.createQuery("INSERT INTO users (name, display_name, email, provider, provider_id, created_at)"
                            + " VALUES (:name, :dn, :email, :provider, :pid, :created) RETURNING id")
                    .bind("name", name)
                    .bind("dn", displayName == null ? "" : displayName)
                    .bind("email", email == null ? "" : email)
                    .bind("provider", provider == null ? "" : provider)
                    .bind("pid", providerId)
                    .bind("created", Store.millis(store.now()))
                    .mapTo(Long.class).one();
            store.changes().append(h, ChangeLog.Kind.USERS, null);
            return get(h, id).orElseThrow();
        });
    }

    /** A user from an identity provider, by the identity there ({@link User#providerId()}). */
    public Optional<User> byProviderId(String providerId) {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM users WHERE provider_id = :p")
                .bind("p", providerId).map((rs, ctx) -> map(rs)).findOne());
    }

    /**
     * Creates or updates the user an identity provider vouched for (by {@code providerId}) from their claims, in one
     * transaction: a new user takes the first of {@code names} no other user holds; an existing one keeps its name.
     *
     * @throws ConflictException when a new user has no free name
     */
    public User upsertFromProvider(String provider, String providerId, List<String> names, String displayName, String email,
            String profilePicUrl, List<String> groups) {
        return store.write("log in user " + providerId, h -> {
            Optional<Long> existing = h.createQuery("SELECT id FROM users WHERE provider_id = :p").bind("p", providerId)
                    .mapTo(Long.class).findOne();
            long id;
            if (existing.isPresent()) {
                id = existing.get();
                h.createUpdate("UPDATE users SET display_name = :dn, email = :email, provider = :provider,"
                                + " profile_pic_url = :pic, idp_groups = :groups WHERE id = :id")
                        .bind("dn", nz(displayName)).bind("email", nz(email)).bind("provider", provider)
                        .bind("pic", nz(profilePicUrl)).bind("groups", JsonLists.encode(groups)).bind("id", id).execute();
            } else {
                String name = null;
                for (String n : names) {
                    if (n == null || n.isBlank()) continue;
                    checkName(n);
                    boolean taken = h.createQuery("SELECT COUNT(*) FROM users WHERE name = :n").bind("n", n).mapTo(Integer.class).one() > 0;
                    if (!taken) {
                        name = n;
                        break;
                    }
                }
                if (name == null) throw new ConflictException("no free user name for " + providerId + " (tried " + names + ")", null);
                id = h.createQuery("INSERT INTO users (name, display_name, email, provider, provider_id, created_at,"
                                + " profile_pic_url, idp_groups) VALUES (:name, :dn, :email, :provider, :pid, :created, :pic, :groups)"
                                + " RETURNING id")
                        .bind("name", name).bind("dn", nz(displayName)).bind("email", nz(email)).bind("provider", provider)
                        .bind("pid", providerId).bind("created", Store.millis(store.now())).bind("pic", nz(profilePicUrl))
                        .bind("groups", JsonLists.encode(groups)).mapTo(Long.class).one();
            }
            store.changes().append(h, ChangeLog.Kind.USERS, null);
            return get(h, id).orElseThrow();
        });
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    public Optional<User> get(long id) {
        return store.read(h -> get(h, id));
    }

    public Optional<User> byName(String name) {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM users WHERE name = :n")
                .bind("n", name).map((rs, ctx) -> map(rs)).findOne());
    }

    public List<User> list() {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM users ORDER BY id").map((rs, ctx) -> map(rs)).list());
    }

    public User rename(long id, String newName) {
        checkName(newName);
        return store.write("rename user " + id + " to \"" + newName + "\"", h -> {
            int n = h.createUpdate("UPDATE users SET name = :n WHERE id = :id").bind("n", newName).bind("id", id).execute();
            if (n == 0) throw new NotFoundException("no user with id " + id);
            store.changes().append(h, ChangeLog.Kind.USERS, null);
            return get(h, id).orElseThrow();
        });
    }

    /**
     * Deletes a user and their pre-auth keys. Refuses with {@link UserHasNodesException} while the user owns nodes,
     * unless {@code force}, which deletes those nodes in the same transaction (callers release their addresses).
     * Returns false if there was no such user.
     */
    public boolean delete(long id, boolean force) {
        return store.write("delete user " + id, h -> {
            Optional<User> u = get(h, id);
            if (u.isEmpty()) return false;
            int count = h.createQuery("SELECT COUNT(*) FROM nodes WHERE user_id = :id").bind("id", id).mapTo(Integer.class).one();
            if (count > 0 && !force) throw new UserHasNodesException(u.get().name(), count);
            List<Long> nodeIds = h.createQuery("SELECT id FROM nodes WHERE user_id = :id").bind("id", id).mapTo(Long.class).list();
            h.createUpdate("DELETE FROM nodes WHERE user_id = :id").bind("id", id).execute();
            h.createUpdate("DELETE FROM pre_auth_keys WHERE user_id = :id").bind("id", id).execute();
            boolean deleted = h.createUpdate("DELETE FROM users WHERE id = :id").bind("id", id).execute() == 1;
            for (long n : nodeIds) store.changes().append(h, ChangeLog.Kind.NODE, n);
            store.changes().append(h, ChangeLog.Kind.USERS, null);
            return deleted;
        });
    }

    static Optional<User> get(Handle h, long id) {
        return h.createQuery("SELECT " + COLUMNS + " FROM users WHERE id = :id").bind("id", id).map((rs, ctx) -> map(rs)).findOne();
    }

    private static void checkName(String name) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("user name must not be empty");
        if (name.length() > 255) throw new IllegalArgumentException("user name longer than 255 characters");
        // The last line of defence: the admin API checks names fully; here only what would corrupt the row (a lone
        // surrogate is stored as '?') or break a terminal or PostgreSQL (NUL).
        if (!java.nio.charset.StandardCharsets.UTF_8.newEncoder().canEncode(name)) {
            throw new IllegalArgumentException("user name is not well-formed Unicode");
        }
        if (name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("user name must not contain control characters");
        }
    }

    private static User map(ResultSet rs) throws SQLException {
        return new User(rs.getLong("id"), rs.getString("name"), rs.getString("display_name"), rs.getString("email"),
                rs.getString("provider"), rs.getString("provider_id"), Store.instant(rs, "created_at"),
                rs.getString("profile_pic_url"), JsonLists.decode(rs.getString("idp_groups"), "users.idp_groups"));
    }
}
