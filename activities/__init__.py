"""Activities: all of fulfil's I/O (database, payment gateway, carriers), called by workflows."""
