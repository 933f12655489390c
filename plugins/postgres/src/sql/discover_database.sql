SELECT current_database()::text AS name
