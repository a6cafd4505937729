"""The project's CLI commands, collected for the app factory."""

from .cli_admin import create_admin_command
from .cli_assign import assign_command
from .cli_matching import eval_command, import_command, index_group, match_command
from .cli_seed import seed_command
from .cli_settings import settings_command
from .cli_workflow import expire_command, mail_group

COMMANDS = [
    create_admin_command,
    seed_command,
    import_command,
    match_command,
    index_group,
    eval_command,
    expire_command,
    mail_group,
    assign_command,
    settings_command,
]
