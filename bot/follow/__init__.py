"""Following dossiers: the poller that asks the status API, the inbound events of one-stop-shop
systems, and the notifier that tells each citizen once (issue 13; README "Following a
dossier")."""
