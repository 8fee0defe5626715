//! Every state-changing route refuses a form without the right CSRF token.
