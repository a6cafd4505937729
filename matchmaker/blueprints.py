"""The feature blueprints, in the order they are mounted."""

from .admin.views import bp as admin_bp
from .auth.views import bp as auth_bp
from .curation.views import bp as curation_bp
from .exports.views import bp as exports_bp
from .i18n import bp as i18n_bp
from .imports.views import bp as imports_bp
from .main.views import bp as main_bp
from .matches.views import bp as matches_bp
from .notifications.views import bp as notifications_bp
from .organizations.views import bp as organizations_bp
from .postings.views import demands_bp, offerings_bp
from .search.views import bp as search_bp
from .tokens.views import bp as tokens_bp

BLUEPRINTS = [
    main_bp,
    auth_bp,
    i18n_bp,
    admin_bp,
    demands_bp,
    offerings_bp,
    search_bp,
    matches_bp,
    notifications_bp,
    organizations_bp,
    curation_bp,
    imports_bp,
    exports_bp,
    tokens_bp,
]
