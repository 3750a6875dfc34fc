"""IPython views: the ``%%supervise`` and ``%supervisorctl`` magics."""
