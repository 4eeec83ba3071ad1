"""The service shell: settings, the app factory, composition, workers, metrics, logs, tasks,
live reload and coordination."""
