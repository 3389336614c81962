/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef MW_COMMANDS_H
#define MW_COMMANDS_H

#include "cli.h"
#include "core.h"

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_probe(int argc, char **argv);

#endif
