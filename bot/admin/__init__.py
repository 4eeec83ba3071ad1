"""The staff and admin web pages under /admin: server-rendered, Vietnamese, login required;
one aiohttp sub-application (app.py) that the service mounts."""
