"""The staff and admin web pages under /admin: server-rendered, Vietnamese, login required."""
