//! The platform emulator: an independent implementation of the course-library API as
//! platform-api.md describes it. It never imports the client's wire types.
