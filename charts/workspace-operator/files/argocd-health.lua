-- Argo CD health check for the taskjuice.io kinds (Account, Workspace, ClientInvitation).
-- Register the same script for all three: resource.customizations.health.taskjuice.io_<Kind> in argocd-cm
-- (deploy/argocd-health.yaml is that patch). Written for Lua 5.1, the dialect Argo CD runs.
--
-- It reads the operator's status contract:
--   observedGeneration behind metadata.generation     -> Progressing (the operator has not seen the change yet)
--   ClientInvitation phase Expired, Rejected          -> Degraded, with the reason (a person must resend or fix it)
--   ClientInvitation phase Revoked                    -> Healthy: revoking is a declared end state, done
--   Stalled=True (an error a person must fix)          -> Degraded, with its message
--   Reconciling=True                                   -> Progressing
--   Ready=True                                         -> Healthy (an invitation that is sent but not yet
--                                                         accepted is Ready: a sync does not wait for a person)
--   anything else, or no status yet                    -> Progressing

local hs = { status = "Progressing", message = "Waiting for the operator to report status" }

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function messageOf(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.status == nil then
  return hs
end

local status = obj.status
local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(status.conditions, "Ready")
local stalled = condition(status.conditions, "Stalled")
local reconciling = condition(status.conditions, "Reconciling")

if obj.kind == "ClientInvitation" then
  local phase = status.phase
  if phase == "Revoked" then
    hs.status = "Healthy"
    hs.message = "Revoked: " .. messageOf(ready, "the link no longer works")
    return hs
  end
  if phase == "Expired" or phase == "Rejected" then
    local why = nil
    if stalled ~= nil and stalled.status == "True" then
      why = stalled.message
    end
    if why == nil or why == "" then
      why = messageOf(ready, "the invitation no longer admits anyone")
    end
    hs.status = "Degraded"
    hs.message = "Invitation " .. phase .. ": " .. why
    return hs
  end
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = messageOf(stalled, "Stalled: the object needs a change")
  return hs
end

-- A condition written for an older generation says nothing about the current spec.
local function current(c)
  return c ~= nil and (c.observedGeneration == nil or generation == nil or c.observedGeneration >= generation)
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.message = messageOf(reconciling, "Reconciling")
  return hs
end

if ready ~= nil and ready.status == "True" and current(ready) then
  hs.status = "Healthy"
  hs.message = messageOf(ready, "Ready")
  if obj.kind == "ClientInvitation" and status.phase == "Pending" then
    hs.message = "Sent; waiting for the client to accept"
  end
  return hs
end

hs.message = messageOf(ready, "Waiting for Ready")
return hs
