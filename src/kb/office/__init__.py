"""Running kb in an office: the admin password and who may manage (`admin`), backup and restore
(`backup`), and uploads into the corpus folder (`uploads`)."""
