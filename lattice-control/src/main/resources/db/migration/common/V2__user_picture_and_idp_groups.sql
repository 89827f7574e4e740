-- OpenID Connect users: the picture claim, and the groups claim as of the user's last login (a JSON array), which
-- the policy can name (oidc-group:NAME).
ALTER TABLE users ADD COLUMN profile_pic_url TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN idp_groups TEXT NOT NULL DEFAULT '[]';
